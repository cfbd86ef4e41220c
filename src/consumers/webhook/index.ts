// The webhook consumer: a signed POST telling an application which version is now current (ids
// and the store location, never the value), and confirmation from its answer or its verify URL.
import { randomUUID } from 'node:crypto';
import { RotorError } from '../../errors.js';
import { trackSecret } from '../../redact.js';
import { implementConsumer, type ConsumerContext, type ConsumerNotice } from '../contract.js';
import descriptor, { type WebhookParams } from './descriptor.js';
import { DEFAULT_ATTEMPTS, displayUrl, send } from '../../net/http.js';
import { durationMs } from '../common.js';
import { signRequest, type WebhookBody } from '../signing.js';
import { Recent } from '../recent.js';

export type { WebhookParams } from './descriptor.js';

/** What a 2xx to the POST told us: the version the receiver reports, or just "accepted". */
type Outcome = { kind: 'reported'; version: string } | { kind: 'accepted' };

/**
 * Answers to POSTs, kept only for consumers without a verify URL, keyed by run, URL and version.
 * It lives in memory on purpose: after a worker restart the engine re-sends notify only when the
 * consumer's notified_at is unset, so confirm may find no entry; it then POSTs again (notify is
 * idempotent by contract) and uses that answer. Bounded: old runs fall out first.
 */
const outcomes = new Recent<Outcome>(10_000);

function keyOf(params: WebhookParams, notice: ConsumerNotice): string {
  return `${notice.runId}\0${params.url}\0${notice.versionId}`;
}

async function signingKey(ctx: ConsumerContext<WebhookParams>): Promise<string> {
  const key = await ctx.resolveRef(ctx.params.secret);
  if (!key)
    throw new RotorError(`webhook ${displayUrl(ctx.params.url)}: the signing key ${ctx.params.secret} is empty`, {
      hint: 'set the key the receiver verifies with',
    });
  trackSecret(key);
  return key;
}

function options(ctx: ConsumerContext<WebhookParams>) {
  return {
    timeoutMs: durationMs(ctx.params.timeout, 10_000),
    attempts: ctx.params.attempts ?? DEFAULT_ATTEMPTS,
    signal: ctx.signal,
  };
}

/** A JSON object's `version` when it is a string; undefined for an empty, non-JSON or version-less answer. */
function reportedVersion(text: string): string | undefined {
  if (!text.trim()) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    const v = parsed && typeof parsed === 'object' ? (parsed as { version?: unknown }).version : undefined;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

async function post(ctx: ConsumerContext<WebhookParams>, notice: ConsumerNotice): Promise<Outcome> {
  const key = await signingKey(ctx);
  const answer = await send({
    ...options(ctx),
    url: ctx.params.url,
    label: `webhook ${displayUrl(ctx.params.url)}`,
    build() {
      const delivery = randomUUID();
      const body: WebhookBody = {
        event: 'version.current',
        delivery,
        secretId: notice.secretId,
        runId: notice.runId,
        versionId: notice.versionId,
        store: { backend: notice.store.backend, location: notice.store.location },
        revokeAfter: notice.revokeAfter.toISOString(),
      };
      const text = JSON.stringify(body);
      return {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'rotor',
          ...signRequest(key, { method: 'POST', url: ctx.params.url, delivery, body: text }),
        },
        body: text,
      };
    },
  });
  const version = reportedVersion(answer.text);
  return version === undefined ? { kind: 'accepted' } : { kind: 'reported', version };
}

/** The version the verify URL reports for this secret: a signed GET with an empty body. */
async function askVerify(ctx: ConsumerContext<WebhookParams>, verify: string, notice: ConsumerNotice): Promise<string | null> {
  const key = await signingKey(ctx);
  const url = new URL(verify);
  url.searchParams.set('secret', notice.secretId);
  const label = `webhook verify URL ${displayUrl(verify)}`;
  const answer = await send({
    ...options(ctx),
    url: url.toString(),
    label,
    // v2 signs the method, path, query and a delivery id of its own: a captured GET cannot be
    // replayed or pointed at another secret (`?secret=`) or path.
    build: () => ({
      method: 'GET',
      headers: {
        accept: 'application/json',
        'user-agent': 'rotor',
        ...signRequest(key, { method: 'GET', url: url.toString(), delivery: randomUUID(), body: '' }),
      },
    }),
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.text);
  } catch {
    parsed = undefined;
  }
  const version = parsed && typeof parsed === 'object' ? (parsed as { version?: unknown }).version : undefined;
  if (typeof version === 'string' || version === null) return version;
  throw new RotorError(`${label} answered HTTP ${answer.status} without a JSON {"version": ...}`, {
    hint: 'the verify URL must answer {"version": "<the version id the application uses>"}',
  });
}

export const webhookConsumer = implementConsumer<WebhookParams>(descriptor, {
  async notify(ctx, notice) {
    const outcome = await post(ctx, notice);
    // With a verify URL, confirmation comes from there alone: nothing to remember.
    if (!ctx.params.verify) outcomes.set(keyOf(ctx.params, notice), outcome);
  },
  async confirm(ctx, notice) {
    if (ctx.params.verify) return askVerify(ctx, ctx.params.verify, notice);
    const key = keyOf(ctx.params, notice);
    let outcome = outcomes.get(key);
    // No answer known (a worker restarted after notify), or the receiver still reported another
    // version: POST again, the only way to ask a receiver that has no verify URL.
    if (!outcome || (outcome.kind === 'reported' && outcome.version !== notice.versionId)) {
      outcome = await post(ctx, notice);
      outcomes.set(key, outcome);
    }
    return outcome.kind === 'accepted' ? notice.versionId : outcome.version;
  },
});
