// What commands that change a secret share: the typed confirmation, and who the actor is.
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

/** The actor recorded in the audit trail: --actor, else the login name. */
export function cliActor(actor: string | undefined): string {
  return actor ?? `cli:${process.env.USER ?? process.env.LOGNAME ?? 'unknown'}`;
}
