// The documented exit codes of every rotor command, and how an error maps onto them.
import {
  AlreadyInProgressError,
  InvalidInputError,
  NotFoundError,
  RotorError,
  RunFailedError,
  UnavailableError,
  WrongMasterKeyError,
  coerceError,
} from '../errors.js';
import { scrub } from '../redact.js';

/** Exit codes; the README's "Exit codes" table lists the same. */
export const EXIT = {
  OK: 0,
  /** An unexpected internal error: a bug, please report it. */
  INTERNAL: 1,
  /** Invalid input: a policy, flag or configuration is wrong; nothing was changed. */
  USAGE: 2,
  /** The secret or run named does not exist. */
  NOT_FOUND: 3,
  /** The secret is already being rotated by another run. */
  IN_PROGRESS: 4,
  /** The run ended in needs-attention (rotate --wait). */
  RUN_FAILED: 5,
  /** A dependency (state database, Redis) could not be reached. */
  UNAVAILABLE: 6,
  /**
   * The command ran but found what it cannot settle itself (not a bug in rotor, unlike 1):
   * `rotor conformance`, a failed check; `rotor rekey`, versions sealed with an old key meanwhile.
   */
  CHECK_FAILED: 7,
} as const;

export function exitCodeOf(err: unknown): number {
  if (err instanceof InvalidInputError || err instanceof WrongMasterKeyError) return EXIT.USAGE;
  if (err instanceof NotFoundError) return EXIT.NOT_FOUND;
  if (err instanceof AlreadyInProgressError) return EXIT.IN_PROGRESS;
  if (err instanceof RunFailedError) return EXIT.RUN_FAILED;
  if (err instanceof UnavailableError) return EXIT.UNAVAILABLE;
  return EXIT.INTERNAL;
}

/**
 * One readable block: the message, then what to do. Never a stack trace for expected errors, and
 * never a value this process handled (`rotor attest --value-stdin`, `secret get`): scrubbed.
 */
export function formatCliError(thrown: unknown): string {
  const err = coerceError(thrown);
  if (err instanceof RotorError) {
    return scrub(`rotor: ${err.message}` + (err.hint ? `\n  → ${err.hint}` : ''));
  }
  return scrub(`rotor: internal error: ${err.message}\n  → this is a bug in rotor; please report it with the command you ran`);
}
