import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { webhookConsumer, type WebhookParams } from '../../../src/consumers/webhook/index.js';
import {
  DELIVERY_HEADER,
  ReplayGuard,
  SIGNATURE_HEADER,
  SIGNATURE_V2_HEADER,
  TIMESTAMP_HEADER,
  verifyRequest,
  verifySignature,
  type WebhookBody,
} from '../../../src/consumers/signing.js';
import { PermanentError, UnavailableError } from '../../../src/errors.js';
import { trackSecret } from '../../../src/redact.js';
import { contextFor, noticeFor, startReceiver, type Received, type Receiver } from './receiver.js';
import { rejectionOf } from '../../helpers/rejection.js';

const KEY = randomBytes(32).toString('hex');
const REFS = { 'env:HOOK_KEY': KEY };

function params(r: Receiver, over: Partial<WebhookParams> = {}): WebhookParams {
  return { url: `${r.base}/rotor/reload`, secret: 'env:HOOK_KEY', timeout: '2s', ...over };
}

function verified(req: Received) {
  return verifySignature(KEY, req.body, {
    timestamp: req.headers[TIMESTAMP_HEADER] as string | undefined,
    signature: req.headers[SIGNATURE_HEADER] as string | undefined,
  });
}

/** The v2 check: method, path, query, delivery id and body, as received. */
function verifiedV2(req: Received, over: Partial<{ method: string; url: string }> = {}) {
  return verifyRequest(
    KEY,
    { method: over.method ?? req.method, url: over.url ?? req.url, body: req.body },
    {
      timestamp: req.headers[TIMESTAMP_HEADER] as string | undefined,
      delivery: req.headers[DELIVERY_HEADER] as string | undefined,
      signature: req.headers[SIGNATURE_V2_HEADER] as string | undefined,
    },
  );
}

describe('webhook consumer', () => {
  const receivers: Receiver[] = [];
  async function receiver(handler?: Receiver['handler']) {
    const r = await startReceiver(handler);
    receivers.push(r);
    return r;
  }
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  it('POSTs ids and the store location, signed over the exact body, with a fresh delivery id each time, never the value', async () => {
    const r = await receiver();
    const password = `pw-${randomBytes(12).toString('hex')}`;
    trackSecret(password);
    const notice = noticeFor('payments/db');
    // Even if an engine handed it the value, a webhook must not send it.
    await webhookConsumer.notify(contextFor(params(r), REFS), notice, { username: 'app_a', password });
    await webhookConsumer.notify(contextFor(params(r), REFS), notice, undefined);

    expect(r.requests).toHaveLength(2);
    const [first, second] = r.requests as [Received, Received];
    expect(first.method).toBe('POST');
    expect(first.url).toBe('/rotor/reload');
    expect(first.headers['content-type']).toBe('application/json');
    expect(verified(first)).toMatchObject({ ok: true });
    const body = JSON.parse(first.body) as WebhookBody;
    expect(body).toEqual({
      event: 'version.current',
      delivery: expect.stringMatching(/^[0-9a-f-]{36}$/),
      secretId: 'payments/db',
      runId: notice.runId,
      versionId: notice.versionId,
      store: { backend: 'local', location: 'payments/db' },
      revokeAfter: notice.revokeAfter.toISOString(),
    });
    expect(first.body).not.toContain(password);
    expect(first.body).not.toContain('app_a');
    expect(JSON.stringify(first.headers)).not.toContain(password);
    // A receiver's replay guard accepts both deliveries: each request has its own id.
    const guard = new ReplayGuard();
    const secondBody = JSON.parse(second.body) as WebhookBody;
    expect(secondBody.delivery).not.toBe(body.delivery);
    expect(guard.accept(body.delivery, Number(first.headers[TIMESTAMP_HEADER]))).toBe(true);
    expect(guard.accept(secondBody.delivery, Number(second.headers[TIMESTAMP_HEADER]))).toBe(true);
    expect(guard.accept(body.delivery, Number(first.headers[TIMESTAMP_HEADER]))).toBe(false);
    // The signature covers the body: one changed byte and it no longer verifies; nor under another key.
    expect(
      verifySignature(KEY, first.body.replace('payments/db', 'payments/dc'), {
        timestamp: first.headers[TIMESTAMP_HEADER] as string,
        signature: first.headers[SIGNATURE_HEADER] as string,
      }),
    ).toMatchObject({ ok: false });
    expect(
      verifySignature('another-key', first.body, {
        timestamp: first.headers[TIMESTAMP_HEADER] as string,
        signature: first.headers[SIGNATURE_HEADER] as string,
      }),
    ).toMatchObject({ ok: false });
  });

  it('without a verify URL, a 2xx with no body confirms, without another request', async () => {
    const r = await receiver();
    const notice = noticeFor();
    const ctx = contextFor(params(r), REFS);
    await webhookConsumer.notify(ctx, notice, undefined);
    expect(await webhookConsumer.confirm(ctx, notice)).toBe(notice.versionId);
    expect(r.requests).toHaveLength(1);
  });

  it('without a verify URL, takes the version the POST answer reports, and asks again (POST) until it is the new one', async () => {
    const notice = noticeFor();
    let reloaded = false;
    const r = await receiver(() => ({ status: 200, body: JSON.stringify({ version: reloaded ? notice.versionId : 'old-version' }) }));
    const ctx = contextFor(params(r), REFS);
    await webhookConsumer.notify(ctx, notice, undefined);
    expect(await webhookConsumer.confirm(ctx, notice)).toBe('old-version');
    reloaded = true;
    expect(await webhookConsumer.confirm(ctx, notice)).toBe(notice.versionId);
    // notify, then one POST per confirm that still saw the old version; then nothing more.
    expect(r.requests).toHaveLength(3);
    expect(await webhookConsumer.confirm(ctx, notice)).toBe(notice.versionId);
    expect(r.requests).toHaveLength(3);
    expect(r.requests.every((q) => verified(q).ok)).toBe(true);
  });

  it('after a worker restart (no record of notify), confirm POSTs again and takes that answer', async () => {
    const r = await receiver();
    const notice = noticeFor();
    expect(await webhookConsumer.confirm(contextFor(params(r), REFS), notice)).toBe(notice.versionId);
    expect(r.requests.map((q) => q.method)).toEqual(['POST']);
    expect((JSON.parse(r.requests[0]!.body) as WebhookBody).versionId).toBe(notice.versionId);
  });

  it('with a verify URL, confirms from a signed GET ?secret=<id> with an empty body', async () => {
    const notice = noticeFor('payments/api-key');
    let inUse: string | null = null;
    const r = await receiver((req) => {
      if (req.method === 'POST') return { status: 200, body: JSON.stringify({ version: notice.versionId }) };
      // The receiver's own check: a signed GET over the empty body.
      if (!verified(req).ok || req.body !== '') return { status: 401, body: 'bad signature' };
      return { status: 200, body: JSON.stringify({ version: inUse }) };
    });
    const ctx = contextFor(params(r, { verify: `${r.base}/rotor/version?app=payments` }), REFS);
    await webhookConsumer.notify(ctx, notice, undefined);
    // The POST's answer is not remembered: the verify URL alone decides.
    expect(await webhookConsumer.confirm(ctx, notice)).toBeNull();
    inUse = 'previous';
    expect(await webhookConsumer.confirm(ctx, notice)).toBe('previous');
    inUse = notice.versionId;
    expect(await webhookConsumer.confirm(ctx, notice)).toBe(notice.versionId);
    const gets = r.requests.filter((q) => q.method === 'GET');
    expect(gets).toHaveLength(3);
    const u = new URL(gets[0]!.url, r.base);
    expect(u.pathname).toBe('/rotor/version');
    expect(u.searchParams.get('secret')).toBe('payments/api-key');
    expect(u.searchParams.get('app')).toBe('payments');
    expect(gets.every((g) => verified(g).ok && g.body === '')).toBe(true);
    // v2 covers the method, the path, the query and a delivery id of each GET's own: the same
    // headers on another secret's query, another path or a POST do not verify.
    expect(gets.every((g) => verifiedV2(g).ok)).toBe(true);
    expect(new Set(gets.map((g) => g.headers[DELIVERY_HEADER])).size).toBe(3);
    const g = gets[0]!;
    expect(verifiedV2(g, { url: g.url.replace('payments%2Fapi-key', 'payments%2Fdb') })).toMatchObject({ ok: false });
    expect(verifiedV2(g, { url: g.url.replace('/rotor/version', '/rotor/other') })).toMatchObject({ ok: false });
    expect(verifiedV2(g, { method: 'POST' })).toMatchObject({ ok: false });
    const post = r.requests.find((q) => q.method === 'POST')!;
    expect(verifiedV2(post)).toMatchObject({ ok: true, delivery: (JSON.parse(post.body) as WebhookBody).delivery });
  });

  it('rejects a verify answer without a version, naming the verify URL', async () => {
    const r = await receiver((req) =>
      req.method === 'GET' ? { status: 200, body: '<html>hello</html>', headers: { 'content-type': 'text/html' } } : { status: 204 },
    );
    const ctx = contextFor(params(r, { verify: `${r.base}/rotor/version` }), REFS);
    const err = await rejectionOf(webhookConsumer.confirm(ctx, noticeFor()));
    expect(err.message).toContain(`webhook verify URL ${r.base}/rotor/version answered HTTP 200 without a JSON {"version": ...}`);
  });

  it('retries a 503 and succeeds on the third try, each try freshly signed', async () => {
    let n = 0;
    const r = await receiver(() => (++n < 3 ? { status: 503, body: 'restarting' } : { status: 204 }));
    const notice = noticeFor();
    const ctx = contextFor(params(r), REFS);
    await webhookConsumer.notify(ctx, notice, undefined);
    expect(r.requests).toHaveLength(3);
    expect(r.requests.every((q) => verified(q).ok)).toBe(true);
    expect(new Set(r.requests.map((q) => (JSON.parse(q.body) as WebhookBody).delivery)).size).toBe(3);
    // Backoff between tries: the third came at least ~200 ms (two halved backoffs) after the first.
    expect(r.requests[2]!.at - r.requests[0]!.at).toBeGreaterThanOrEqual(150);
    expect(await webhookConsumer.confirm(ctx, notice)).toBe(notice.versionId);
  });

  it('gives up after 3 tries on a persistent 503 with an error naming URL and status', async () => {
    const r = await receiver(() => ({ status: 503 }));
    const err = await rejectionOf(webhookConsumer.notify(contextFor(params(r), REFS), noticeFor(), undefined));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toBe(`webhook ${r.base}/rotor/reload answered HTTP 503 (3 attempts)`);
    expect(r.requests).toHaveLength(3);
  });

  it('does not retry a 400, and the error names the URL without its query string, the status and the answer', async () => {
    const r = await receiver(() => ({ status: 400, body: 'signature does not match the body' }));
    const url = `${r.base}/rotor/reload?token=query-secret-abc123`;
    const err = await rejectionOf(webhookConsumer.notify(contextFor(params(r, { url }), REFS), noticeFor(), undefined));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toBe(`webhook ${r.base}/rotor/reload answered HTTP 400: signature does not match the body`);
    expect(err.message).not.toContain('query-secret-abc123');
    expect(r.requests).toHaveLength(1);
    // The receiver did get the query string.
    expect(r.requests[0]!.url).toBe('/rotor/reload?token=query-secret-abc123');
  });

  it('does not follow a redirect with a signed request', async () => {
    const r = await receiver((req) => (req.url === '/moved' ? { status: 204 } : { status: 302, headers: { location: '/moved?sig=1' } }));
    const err = await rejectionOf(webhookConsumer.notify(contextFor(params(r), REFS), noticeFor(), undefined));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain(`webhook ${r.base}/rotor/reload answered HTTP 302 (a redirect to ${r.base}/moved)`);
    expect(r.requests.map((q) => q.url)).toEqual(['/rotor/reload']);
  });

  it('times out a receiver that never answers, tries again, then reports the timeout', async () => {
    const r = await receiver(() => ({ hang: true }));
    const started = Date.now();
    const err = await rejectionOf(
      webhookConsumer.notify(contextFor(params(r, { timeout: '200ms', attempts: 2 }), REFS), noticeFor(), undefined),
    );
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toBe(`webhook ${r.base}/rotor/reload did not answer within 200ms (2 attempts)`);
    expect(r.requests).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('reports a receiver that is down as unreachable, after retries', async () => {
    const r = await receiver();
    const url = `${r.base}/rotor/reload`;
    await r.close();
    const err = await rejectionOf(webhookConsumer.notify(contextFor(params(r, { url }), REFS), noticeFor(), undefined));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toBe(`webhook ${url} cannot be reached (ECONNREFUSED) (3 attempts)`);
  });

  it('stops at once when rotor shuts down', async () => {
    const r = await receiver(() => ({ hang: true }));
    const stop = new AbortController();
    const pending = webhookConsumer.notify(contextFor(params(r, { timeout: '30s' }), REFS, stop.signal), noticeFor(), undefined);
    setTimeout(() => stop.abort(), 100);
    const started = Date.now();
    const err = await rejectionOf(pending);
    expect(err.message).toContain('interrupted, rotor is shutting down');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(r.requests).toHaveLength(1);
  });
});
