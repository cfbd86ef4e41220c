// The shared spawn path: a failure to start a program is a step error, never a crash.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PermanentError, UnavailableError } from '../../src/errors.js';
import { spawnError, startProcess } from '../../src/spawn.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('startProcess', () => {
  it('with every file descriptor taken, the process survives and the step fails retryably (EMFILE)', () => {
    // A child under a low limit, so this worker's descriptors are left alone.
    const fixture = join(ROOT, 'test', 'fixtures', 'spawn', 'exhausted.ts');
    const r = spawnSync('sh', ['-c', `ulimit -n 256 && exec "${process.execPath}" --import tsx "${fixture}"`], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stderr).not.toContain('Unhandled');
    expect(r.status).toBe(0);
    const answers = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, { name: string; message: string }>;
    expect(answers.rotator).toEqual({
      name: 'UnavailableError',
      message: `flood/test: verify: ${process.execPath} cannot be started now: EMFILE`,
    });
    expect(answers.consumer).toEqual({ name: 'UnavailableError', message: `command ${process.execPath} cannot be started now: EMFILE` });
  }, 40_000);

  it('a file that is not executable is a permanent step error with the hint, and no unhandled event', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-spawn-'));
    const script = join(dir, 'not-executable.sh');
    writeFileSync(script, '#!/bin/sh\nexit 0\n');
    chmodSync(script, 0o644);
    const failure = await startProcess(script, [], { stdio: ['pipe', 'pipe', 'pipe'] }).catch((e: unknown) => e);
    const err = spawnError(failure, `command ${script}`, 'make it executable');
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toBe(`command ${script} cannot be started: EACCES`);
    expect(err.hint).toBe('make it executable');
  });

  it('an error that is not about the program itself is retryable', () => {
    const err = spawnError(Object.assign(new Error('spawn EAGAIN'), { code: 'EAGAIN' }), 'command x', 'h');
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toBe('command x cannot be started now: EAGAIN');
  });

  it('a program that starts resolves with its pipes open', async () => {
    const child = await startProcess(process.execPath, ['-e', 'process.stdout.write("ok")'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((r) => child.once('close', r));
    expect(out).toBe('ok');
  });
});
