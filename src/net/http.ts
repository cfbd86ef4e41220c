// Outbound HTTP shared by the webhook and notify consumers and the alert sender: one request with a
// timeout, bounded retries with backoff, no redirects, and errors that name the endpoint without
// leaking what is secret in its URL.
import { PermanentError, RotorError, UnavailableError } from '../errors.js';
import { scrub } from '../redact.js';
import { sleep } from '../sleep.js';

/** @defaultValue 3: a receiver that is restarting gets a second and third chance within seconds. */
export const DEFAULT_ATTEMPTS = 3;
const FIRST_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 2_000;
/**
 * What of a refusing answer's body goes into the error (and so the state database and logs):
 * enough to read "bad signature", no more. A receiver may echo what it was sent or hold.
 */
export const BODY_SNIPPET = 80;
/** Runs that look like keys or tokens (hex, base64, base64url): never copied into an error. */
const TOKEN_LIKE = /[A-Za-z0-9+/_-]{20,}={0,2}/g;

export interface HttpRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

export interface HttpAnswer {
  status: number;
  text: string;
}

export interface SendOptions {
  url: string;
  /** How errors name the endpoint, e.g. `webhook https://api.internal/rotor/reload`. */
  label: string;
  timeoutMs: number;
  attempts: number;
  /** Aborts waiting and sending (rotor shutting down). */
  signal: AbortSignal;
  /**
   * Builds each attempt afresh, so every request carries its own delivery id and signature time:
   * a receiver that accepted an attempt whose answer was lost refuses a byte-identical replay.
   */
  build(): HttpRequest;
}

/** `origin + path`: a URL as errors may show it (no user:password@, no query string, no fragment). */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(malformed URL)';
  }
}

function retryable(status: number): boolean {
  return status >= 500 || status === 429;
}

function snippet(text: string): string {
  const line = scrub(text.slice(0, 64 * 1024))
    .replace(TOKEN_LIKE, '[redacted]')
    .replace(/\s+/g, ' ')
    .trim();
  return line.length > BODY_SNIPPET ? `${line.slice(0, BODY_SNIPPET)}…` : line;
}

/**
 * Sends until a 2xx (returned) or a refusal that retrying cannot change (a 3xx or a 4xx other than
 * 429: PermanentError). Network errors, timeouts, 5xx and 429 are retried up to `attempts` times,
 * then reported as UnavailableError, which the engine retries at step level with its own backoff.
 */
export async function send(opts: SendOptions): Promise<HttpAnswer> {
  const attempts = Math.max(1, opts.attempts);
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) {
      const base = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (attempt - 2));
      await sleep(base / 2 + Math.random() * (base / 2), opts.signal).catch(() => undefined);
    }
    if (opts.signal.aborted) break;
    const req = opts.build();
    let res: Response;
    let text: string;
    try {
      res = await fetch(opts.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        // A redirect would re-send the signed request to wherever the answer points: refuse it.
        redirect: 'manual',
        signal: AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]),
      });
      text = await res.text();
    } catch (err) {
      if (opts.signal.aborted) break;
      const e = err as Error & { cause?: { code?: string } };
      last = e.name === 'TimeoutError' ? `did not answer within ${opts.timeoutMs}ms` : `cannot be reached (${e.cause?.code ?? e.message})`;
      continue;
    }
    if (res.status >= 200 && res.status < 300) return { status: res.status, text };
    const answered = `answered HTTP ${res.status}${text ? `: ${snippet(text)}` : ''}`;
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get('location');
      const to = location ? ` to ${displayUrl(URL.canParse(location, opts.url) ? new URL(location, opts.url).href : location)}` : '';
      throw new PermanentError(`${opts.label} ${answered} (a redirect${to})`, {
        hint: 'configure the final URL: rotor does not follow redirects with signed requests',
      });
    }
    if (!retryable(res.status)) {
      throw new PermanentError(`${opts.label} ${answered}`, {
        hint:
          res.status === 401 || res.status === 403
            ? 'check that the receiver and rotor use the same key'
            : 'check the URL and what the receiver expects',
      });
    }
    last = answered;
  }
  if (opts.signal.aborted) throw new RotorError(`${opts.label}: interrupted, rotor is shutting down`);
  throw new UnavailableError(`${opts.label} ${last} (${attempts} attempt${attempts === 1 ? '' : 's'})`, {
    hint: 'check that the receiver is up; the engine tries again with backoff',
  });
}
