import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { notifyConsumer, type NotifyMessage, type NotifyParams } from '../../../src/consumers/notify/index.js';
import { PermanentError } from '../../../src/errors.js';
import { scrub, trackSecret } from '../../../src/redact.js';
import { contextFor, noticeFor, startReceiver, type Receiver } from './receiver.js';
import { rejectionOf } from '../../helpers/rejection.js';

describe('notify consumer', () => {
  const receivers: Receiver[] = [];
  // Like Slack: a path that is itself the credential, and `ok` as the answer.
  const hookPath = `/services/T0001/B0001/${randomBytes(12).toString('hex')}`;
  async function slack(handler: Receiver['handler'] = () => ({ status: 200, body: 'ok', headers: { 'content-type': 'text/html' } })) {
    const r = await startReceiver(handler);
    receivers.push(r);
    return { r, refs: { 'env:SLACK_HOOK': `${r.base}${hookPath}` } };
  }
  const params: NotifyParams = { url: 'env:SLACK_HOOK', channel: '#payments-oncall', timeout: '2s' };
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  it('posts what rotated, when, and when the old credential goes, to the channel; never the value; delivery confirms', async () => {
    const { r, refs } = await slack();
    const password = `pw-${randomBytes(12).toString('hex')}`;
    trackSecret(password);
    const revokeAfter = new Date('2031-05-06T07:08:09.000Z');
    const notice = noticeFor('payments/db-app', { revokeAfter });
    const ctx = contextFor(params, refs);
    const before = Date.now();
    await notifyConsumer.notify(ctx, notice, { username: 'app_a', password });

    expect(r.requests).toHaveLength(1);
    const req = r.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe(hookPath);
    expect(req.headers['content-type']).toBe('application/json');
    const msg = JSON.parse(req.body) as NotifyMessage;
    expect(Object.keys(msg).sort()).toEqual(['channel', 'text']);
    expect(msg.channel).toBe('#payments-oncall');
    expect(msg.text).toContain('secret `payments/db-app` now uses version `' + notice.versionId + '`');
    expect(msg.text).toContain(`run ${notice.runId}`);
    expect(msg.text).toContain('stops working at the earliest at 2031-05-06T07:08:09.000Z');
    expect(msg.text).toContain('local payments/db-app');
    // "when": the send time, in ISO form, between the call and now.
    const sentAt = Date.parse(/run [^,]+, ([^)]+)\)/.exec(msg.text)![1]!);
    expect(sentAt).toBeGreaterThanOrEqual(before - 1_000);
    expect(sentAt).toBeLessThanOrEqual(Date.now());
    expect(req.body).not.toContain(password);
    expect(req.body).not.toContain('app_a');

    expect(await notifyConsumer.confirm(ctx, notice)).toBe(notice.versionId);
    expect(r.requests).toHaveLength(1);
  });

  it('leaves out channel when none is set', async () => {
    const { r, refs } = await slack();
    await notifyConsumer.notify(contextFor({ url: 'env:SLACK_HOOK' }, refs), noticeFor(), undefined);
    expect(Object.keys(JSON.parse(r.requests[0]!.body) as NotifyMessage)).toEqual(['text']);
  });

  it('sends the message again from confirm when this worker has no record of it (restart)', async () => {
    const { r, refs } = await slack();
    const notice = noticeFor();
    expect(await notifyConsumer.confirm(contextFor(params, refs), notice)).toBe(notice.versionId);
    expect(r.requests).toHaveLength(1);
  });

  it('a refused message is an error naming the host only: the URL path is the credential', async () => {
    const { r, refs } = await slack(() => ({ status: 404, body: 'no_service' }));
    const err = await rejectionOf(notifyConsumer.notify(contextFor(params, refs), noticeFor(), undefined));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toBe(`notify ${new URL(r.base).host} (env:SLACK_HOOK) answered HTTP 404: no_service`);
    expect(err.message).not.toContain(hookPath);
    expect(r.requests).toHaveLength(1);
    // The resolved URL is tracked: any log line carrying it is scrubbed.
    expect(scrub(`posting to ${refs['env:SLACK_HOOK']}`)).toBe('posting to [redacted]');
  });

  it('retries a 429 (rate limited) and delivers', async () => {
    let n = 0;
    const { r, refs } = await slack(() => (++n === 1 ? { status: 429, body: 'rate_limited' } : { status: 200, body: 'ok' }));
    const notice = noticeFor();
    await notifyConsumer.notify(contextFor(params, refs), notice, undefined);
    expect(r.requests).toHaveLength(2);
    expect(r.requests[0]!.body).toBe(r.requests[1]!.body);
  });
});
