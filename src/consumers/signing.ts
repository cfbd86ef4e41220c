// Signing of rotor's webhook requests, and the check a receiver runs on them.
//
// rotor sends these headers with every request (the POST and the verify GET):
//   rotor-timestamp:    <unix seconds when the request was signed>
//   rotor-delivery:     <an id unique to the request>
//   rotor-signature-v2: v2=<hex HMAC-SHA256(key, v2Payload)>, v2Payload being the lines
//                       `v2`, timestamp, delivery, METHOD, path, query (raw, without `?`), body
//   rotor-signature:    v1=<hex HMAC-SHA256(key, `${timestamp}.${body}`)>  (kept for receivers
//                       that have not moved to v2; it covers neither method, URL nor delivery)
// The POST's JSON body carries the same `delivery` id. A receiver checks v2 over what it received
// (method, path, query, exact body bytes), refuses a timestamp older (or newer) than its tolerance,
// and refuses a delivery id it has already accepted within that tolerance: a captured request
// cannot be replayed, altered, re-dated or sent to another path or with another query.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TIMESTAMP_HEADER = 'rotor-timestamp';
export const SIGNATURE_HEADER = 'rotor-signature';
export const SIGNATURE_V2_HEADER = 'rotor-signature-v2';
export const DELIVERY_HEADER = 'rotor-delivery';
const SCHEME = 'v1=';
const SCHEME_V2 = 'v2=';

/** How far a request's timestamp may be from the receiver's clock. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

function mac(key: string, timestamp: string, body: string): Buffer {
  return createHmac('sha256', key).update(`${timestamp}.${body}`).digest();
}

/** What v2 signs: the request as the receiver sees it. */
export interface SignedRequest {
  method: string;
  /** The URL requested (absolute, or path and query). */
  url: string;
  delivery: string;
  body: string;
}

function macV2(key: string, timestamp: string, r: SignedRequest): Buffer {
  const u = new URL(r.url, 'http://receiver.invalid');
  const payload = ['v2', timestamp, r.delivery, r.method.toUpperCase(), u.pathname, u.search.replace(/^\?/, ''), r.body].join('\n');
  return createHmac('sha256', key).update(payload).digest();
}

/** The headers to send with a request, signed at `now`: v2 over all of it, v1 over the body. */
export function signRequest(key: string, request: SignedRequest, now: Date = new Date()): Record<string, string> {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  return {
    [TIMESTAMP_HEADER]: timestamp,
    [DELIVERY_HEADER]: request.delivery,
    [SIGNATURE_V2_HEADER]: SCHEME_V2 + macV2(key, timestamp, request).toString('hex'),
    [SIGNATURE_HEADER]: SCHEME + mac(key, timestamp, request.body).toString('hex'),
  };
}

export type VerifyRequestResult = { ok: true; timestamp: number; delivery: string } | { ok: false; reason: string };

/**
 * Checks a received request's v2 signature: method, path, query, delivery id and body as received.
 * The receiver then refuses a delivery id it has accepted before (ReplayGuard).
 */
export function verifyRequest(
  key: string,
  request: Omit<SignedRequest, 'delivery'>,
  headers: { timestamp: string | undefined; delivery: string | undefined; signature: string | undefined },
  opts: VerifyOptions = {},
): VerifyRequestResult {
  const { timestamp, delivery, signature } = headers;
  if (!timestamp || !delivery || !signature) {
    return { ok: false, reason: `missing ${TIMESTAMP_HEADER}, ${DELIVERY_HEADER} or ${SIGNATURE_V2_HEADER} header` };
  }
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: `${TIMESTAMP_HEADER} is not a unix time in seconds` };
  if (!signature.startsWith(SCHEME_V2)) return { ok: false, reason: `${SIGNATURE_V2_HEADER} does not start with ${SCHEME_V2}` };
  const given = Buffer.from(signature.slice(SCHEME_V2.length), 'hex');
  const expected = macV2(key, timestamp, { ...request, delivery });
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'signature does not match the request (method, path, query, delivery, body)' };
  }
  const ts = Number(timestamp);
  const skew = Math.abs((opts.now ?? new Date()).getTime() / 1000 - ts);
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (skew > tolerance) return { ok: false, reason: `timestamp is ${Math.round(skew)}s away from now (tolerance ${tolerance}s)` };
  return { ok: true, timestamp: ts, delivery };
}

export type VerifyResult = { ok: true; timestamp: number } | { ok: false; reason: string };

export interface VerifyOptions {
  toleranceSeconds?: number;
  now?: Date;
}

/** Checks the v1 signature (body and timestamp only) of a received request; prefer verifyRequest. */
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
