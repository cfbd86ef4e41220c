// Signing of rotor's webhook requests, and the check a receiver runs on them.
//
// rotor sends two headers with every POST:
//   rotor-timestamp: <unix seconds when the request was signed>
//   rotor-signature: v1=<hex HMAC-SHA256(key, `${timestamp}.${body}`)>
// and the JSON body carries a `delivery` id unique to the request. A receiver checks the signature
// over the exact bytes it received, refuses a timestamp older (or newer) than its tolerance, and
// refuses a delivery id it has already accepted within that tolerance: a captured request cannot
// be replayed, altered or re-dated.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TIMESTAMP_HEADER = 'rotor-timestamp';
export const SIGNATURE_HEADER = 'rotor-signature';
const SCHEME = 'v1=';

/** How far a request's timestamp may be from the receiver's clock. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

function mac(key: string, timestamp: string, body: string): Buffer {
  return createHmac('sha256', key).update(`${timestamp}.${body}`).digest();
}

/** The headers to send with `body`, signed at `now`. */
export function signRequest(key: string, body: string, now: Date = new Date()): Record<string, string> {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  return {
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: SCHEME + mac(key, timestamp, body).toString('hex'),
  };
}

export type VerifyResult = { ok: true; timestamp: number } | { ok: false; reason: string };

export interface VerifyOptions {
  toleranceSeconds?: number;
  now?: Date;
}

/** Checks the signature headers of a received request against its raw body. */
export function verifySignature(
  key: string,
  body: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  opts: VerifyOptions = {},
): VerifyResult {
  const { timestamp, signature } = headers;
  if (!timestamp || !signature) return { ok: false, reason: `missing ${TIMESTAMP_HEADER} or ${SIGNATURE_HEADER} header` };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: `${TIMESTAMP_HEADER} is not a unix time in seconds` };
  if (!signature.startsWith(SCHEME)) return { ok: false, reason: `${SIGNATURE_HEADER} does not start with ${SCHEME}` };
  const given = Buffer.from(signature.slice(SCHEME.length), 'hex');
  const expected = mac(key, timestamp, body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'signature does not match the body' };
  }
  const ts = Number(timestamp);
  const skew = Math.abs((opts.now ?? new Date()).getTime() / 1000 - ts);
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (skew > tolerance) return { ok: false, reason: `timestamp is ${Math.round(skew)}s away from now (tolerance ${tolerance}s)` };
  return { ok: true, timestamp: ts };
}

/**
 * Remembers accepted delivery ids for as long as their timestamp is within tolerance, so a request
 * replayed inside that window is refused too. Memory is bounded by the deliveries of one window.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(private readonly toleranceSeconds = DEFAULT_TOLERANCE_SECONDS) {}

  /** True the first time a delivery id is offered; false for a replay. */
  accept(delivery: string, timestamp: number, now: Date = new Date()): boolean {
    const cutoff = now.getTime() / 1000 - this.toleranceSeconds;
    for (const [id, ts] of this.seen) if (ts < cutoff) this.seen.delete(id);
    if (this.seen.has(delivery)) return false;
    this.seen.set(delivery, timestamp);
    return true;
  }
}

/** The JSON body of a webhook POST: ids and where to read the value, never the value itself. */
export interface WebhookBody {
  event: 'version.current';
  /** Unique per request; receivers refuse one they have seen (replay). */
  delivery: string;
  secretId: string;
  runId: string;
  /** The version that is now CURRENT: the application should load it from `store`. */
  versionId: string;
  store: { backend: string; location: string };
  /** ISO time after which the previous version may stop working. */
  revokeAfter: string;
}

/**
 * What a receiver answers, to the POST or on its verify URL (a signed GET with an empty body,
 * `?secret=<id>`): the version it now uses. A POST answered 2xx without it confirms nothing yet;
 * rotor then asks the verify URL, or takes the 2xx as confirmation when no verify URL is set.
 */
export interface VersionReport {
  version: string | null;
}
