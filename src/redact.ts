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

/**
 * Any run of this many characters of a tracked value is redacted, not only the whole value: an
 * error text that quotes part of a key (a driver cutting it at 30 characters) must not carry it
 * out. Short enough to catch such a part, long enough that ordinary text never matches a random
 * value's run by chance.
 */
export const REDACTED_RUN = 12;

/**
 * Every REDACTED_RUN-character run of the tracked values, with the number of tracked values that
 * hold it: scrub looks up each run of the text once, so a line costs time linear in its length
 * whatever the number of values tracked.
 */
const runs = new Map<string, number>();
/** Tracked values shorter than a run: replaced whole. */
const short = new Set<string>();

function index(value: string, delta: 1 | -1): void {
  if (value.length < REDACTED_RUN) {
    if (delta > 0) short.add(value);
    else short.delete(value);
    return;
  }
  const seen = new Set<string>();
  for (let i = 0; i + REDACTED_RUN <= value.length; i++) seen.add(value.slice(i, i + REDACTED_RUN));
  for (const run of seen) {
    const n = (runs.get(run) ?? 0) + delta;
    if (n > 0) runs.set(run, n);
    else runs.delete(run);
  }
}

function untrack(value: string): void {
  if (tracked.delete(value)) index(value, -1);
}

/** Tracks every string field of a value (or a string) until `forgetSecret` is called. */
export function trackSecret(value: unknown): void {
  if (typeof value === 'string') {
    if (value.length < MIN_TRACKED_LENGTH) return;
    if (tracked.delete(value)) {
      tracked.add(value); // re-inserted last: most recently used; its runs are indexed already
      return;
    }
    tracked.add(value);
    index(value, 1);
    if (tracked.size > MAX_TRACKED) untrack(tracked.values().next().value!);
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
  if (typeof value === 'string') untrack(value);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) forgetSecret(v);
}

/** Field names whose values are secrets (password, apiKey, signingSecret, ...). */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase();
  return ['password', 'secret', 'value', 'token', 'key', 'apikey', 'privatekey', 'credential'].some((s) => k.includes(s));
}

/**
 * Replaces every tracked value, every run of REDACTED_RUN or more characters of one, and the
 * password part of any URL, in `text`.
 */
export function scrub(text: string): string {
  let out = text;
  for (const v of short) {
    if (out.includes(v)) out = out.split(v).join(REDACTED);
  }
  if (runs.size && out.length >= REDACTED_RUN) out = redactRuns(out);
  // user:password@ in connection strings, whether or not rotor generated the password.
  return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*:)[^@\s/]+@/gi, `$1${REDACTED}@`);
}

/** `text` with every stretch covered by tracked runs replaced by one REDACTED. */
function redactRuns(text: string): string {
  let result = '';
  let kept = 0; // text before this index is in result
  let coveredTo = -1; // end of the stretch being redacted
  for (let i = 0; i + REDACTED_RUN <= text.length; i++) {
    if (!runs.has(text.slice(i, i + REDACTED_RUN))) continue;
    if (i > coveredTo) {
      if (coveredTo >= 0) result += REDACTED;
      result += text.slice(kept, i);
    }
    coveredTo = i + REDACTED_RUN;
    kept = coveredTo;
  }
  if (coveredTo < 0) return text;
  return result + REDACTED + text.slice(kept);
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
