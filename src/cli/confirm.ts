// What commands that change a secret share: the typed confirmation, and who the actor is.
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { InvalidInputError } from '../errors.js';

export interface ConfirmOptions {
  /** What is about to happen, shown before the question. */
  action: string;
  /** Said when there is no terminal to ask on. */
  noTerminal: string;
  /** How to confirm in a script. */
  hint: string;
}

/** Asks the operator to type the secret id; without a terminal, refuses (the caller needs --yes). */
export async function confirmByTypingId(secretId: string, opts: ConfirmOptions): Promise<void> {
  if (!process.stdin.isTTY) throw new InvalidInputError(opts.noTerminal, { hint: opts.hint });
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`${opts.action}. Type the secret id to confirm: `);
  rl.close();
  if (answer.trim() !== secretId) throw new InvalidInputError('not confirmed: nothing was changed');
}

/** Asks the operator to type `expected` (`what` it is, e.g. "the number of secrets"); without a terminal, refuses. */
export async function confirmByTyping(expected: string, what: string, opts: ConfirmOptions): Promise<void> {
  if (!process.stdin.isTTY) throw new InvalidInputError(opts.noTerminal, { hint: opts.hint });
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`${opts.action}. Type ${what} to confirm: `);
  rl.close();
  if (answer.trim() !== expected) throw new InvalidInputError('not confirmed: nothing was changed');
}

/**
 * The login name: $USER or $LOGNAME, else the OS account (root in a non-login shell has neither
 * variable set), else the numeric uid; `unknown` only where none can be read.
 */
export function loginName(env: NodeJS.ProcessEnv = process.env, osUser: () => { username: string; uid: number } = userInfo): string {
  const fromEnv = env.USER || env.LOGNAME;
  if (fromEnv) return fromEnv;
  try {
    const u = osUser();
    if (u.username) return u.username;
    if (u.uid >= 0) return `uid ${u.uid}`;
  } catch {
    // userInfo() throws when the uid has no passwd entry (a container's arbitrary uid).
    if (typeof process.getuid === 'function') return `uid ${process.getuid()}`;
  }
  return 'unknown';
}

/** The actor recorded in the audit trail: --actor, else the login name. */
export function cliActor(actor: string | undefined): string {
  return actor ?? `cli:${loginName()}`;
}
