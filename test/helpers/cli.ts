// Runs the rotor executable as a user would, for end-to-end tests.
import { spawn } from 'node:child_process';

export const REPO_ROOT = new URL('../../', import.meta.url).pathname;
export const ROTOR_BIN = `${REPO_ROOT}bin/rotor.js`;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `rotor <args>` with `env` over this process's environment; resolves when it exits. `stdin` is
 * written to its standard input (else that is /dev/null).
 */
export function rotor(args: string[], env: Record<string, string> = {}, cwd?: string, stdin?: string): Promise<CliResult> {
  return runNode([ROTOR_BIN, ...args], env, cwd, stdin);
}

/** `node <args>`, as rotor() runs it: for rotor started from another path (an installed copy). */
export function runNode(args: string[], env: Record<string, string> = {}, cwd?: string, stdin?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    // A command that exits before reading all of it closes the pipe: its exit code says what happened.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
