// rotor's error classes, named for the decision the caller must take, and coerceError for unknown throws.

/** Base class: every rotor error carries a hint that tells the reader what to do next. */
export class RotorError extends Error {
  override name = 'RotorError';
  /** What the reader should do about it; printed after the message by the CLI. */
  readonly hint: string | undefined;
  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options?.hint;
  }
}

/** Input (policy, flag, config) is wrong: fix it and run again. Nothing was changed. */
export class InvalidInputError extends RotorError {
  override name = 'InvalidInputError';
}

/** The thing named does not exist (secret id, run id). */
export class NotFoundError extends RotorError {
  override name = 'NotFoundError';
}

/** Another run already owns this secret; wait for it or inspect it. */
export class AlreadyInProgressError extends RotorError {
  override name = 'AlreadyInProgressError';
  constructor(
    readonly secretId: string,
    readonly runId: string,
    /** What the run is doing, when that is why nothing else may start: `it is rolling back`. */
    doing?: string,
  ) {
    super(`secret ${secretId} is already being rotated by run ${runId}${doing ? ` (${doing})` : ''}`, {
      hint: `follow it with: rotor status ${secretId}  (or rotor history ${secretId})`,
    });
  }
}

/** A dependency (state database, Redis, a target) cannot be reached; retrying later may work. */
export class UnavailableError extends RotorError {
  override name = 'UnavailableError';
}

/**
 * Retrying cannot help (access denied, a broken invariant in the target's setup):
 * the engine ends the run in needs-attention at once instead of spending attempts.
 */
export class PermanentError extends RotorError {
  override name = 'PermanentError';
}

/**
 * The master key rotor was given is not the one that sealed a value: a configuration to fix, not a
 * bug (the CLI exits 2 with the key id to use); permanent for the engine all the same.
 */
export class WrongMasterKeyError extends PermanentError {
  override name = 'WrongMasterKeyError';
}

/** A run ended in needs-attention (reported by `rotate --wait`). */
export class RunFailedError extends RotorError {
  override name = 'RunFailedError';
}

/** Turns whatever was thrown into an Error, keeping the original as cause. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  let text: string;
  try {
    text = JSON.stringify(thrown);
  } catch {
    text = String(thrown);
  }
  return new Error(`non-error thrown: ${text}`, { cause: thrown });
}
