// Value-based redaction: every secret value rotor handles is tracked here and scrubbed from text
// (log lines, error messages, command stderr) before it leaves the process.

const REDACTED = '[redacted]';
/** Values shorter than this are not tracked: scrubbing "1" from every log line helps nobody. */
const MIN_TRACKED_LENGTH = 6;

/**
 * A long-running worker sees many values; the oldest are dropped past this bound (by then their
 * runs are long over, and revoked credentials are what remains).
 */
const MAX_TRACKED = 10_000;

const tracked = new Set<string>();

/** Tracks every string field of a value (or a string) until `forgetSecret` is called. */
export function trackSecret(value: unknown): void {
  if (typeof value === 'string') {
    if (value.length < MIN_TRACKED_LENGTH) return;
    tracked.delete(value); // re-inserted last: most recently used
    tracked.add(value);
    if (tracked.size > MAX_TRACKED) tracked.delete(tracked.values().next().value!);
    return;
  }
  if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      // Identifiers (username, host, ...) are not secret; passwords, keys and tokens are.
      if (typeof v === 'string' && isSecretKey(key)) trackSecret(v);
    }
  }
}

export function forgetSecret(value: unknown): void {
  if (typeof value === 'string') tracked.delete(value);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) forgetSecret(v);
}

/** Field names whose values are secrets (password, apiKey, signingSecret, ...). */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase();
  return ['password', 'secret', 'value', 'token', 'key', 'apikey', 'privatekey', 'credential'].some((s) => k.includes(s));
}

/** Replaces every tracked value, and the password part of any URL, in `text`. */
export function scrub(text: string): string {
  let out = text;
  for (const v of tracked) {
    if (out.includes(v)) out = out.split(v).join(REDACTED);
  }
  // user:password@ in connection strings, whether or not rotor generated the password.
  return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*:)[^@\s/]+@/gi, `$1${REDACTED}@`);
}

/** An error safe to throw into a job, a log or an audit row: message (and causes) scrubbed. */
export function redactError(err: Error): Error {
  const copy = new Error(scrub(err.message));
  copy.name = err.name;
  copy.stack = err.stack ? scrub(err.stack) : undefined;
  if (err.cause instanceof Error) (copy as Error & { cause?: unknown }).cause = redactError(err.cause);
  for (const k of Object.keys(err)) {
    if (k === 'cause') continue;
    const v = (err as unknown as Record<string, unknown>)[k];
    if (typeof v === 'string') (copy as unknown as Record<string, unknown>)[k] = scrub(v);
    else if (typeof v === 'number' || typeof v === 'boolean') (copy as unknown as Record<string, unknown>)[k] = v;
  }
  return copy;
}

/** Every value tracked now: what leak scans (tests, self-checks) look for. */
export function trackedSecrets(): string[] {
  return [...tracked];
}
