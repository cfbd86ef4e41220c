// The notify consumer: a Slack-compatible message to the people who keep a copy of a credential,
// saying what rotated and when the old credential goes. Never the value. Delivered (2xx) = confirmed.
import { RotorError } from '../../errors.js';
import { trackSecret } from '../../redact.js';
import { implementConsumer, type ConsumerContext, type ConsumerNotice } from '../contract.js';
import descriptor, { type NotifyParams } from './descriptor.js';
import { DEFAULT_ATTEMPTS } from '../../net/http.js';
import { escapeMrkdwn as escape, postSlackMessage, type SlackMessage } from '../../net/slack.js';
import { durationMs } from '../common.js';
import { Recent } from '../recent.js';

export type { NotifyParams } from './descriptor.js';

/** The body Slack (and Mattermost, Rocket.Chat, Teams' Slack-compatible hooks) accept. */
export type NotifyMessage = SlackMessage;

/**
 * Versions whose message was delivered, keyed by run, URL reference and version. In memory: after a
 * worker restart between notify and confirm, confirm sends the message again (a duplicate message
 * is better than a rotation rolled back for want of one).
 */
const delivered = new Recent(10_000);

function keyOf(params: NotifyParams, notice: ConsumerNotice): string {
  return `${notice.runId}\0${params.url}\0${notice.versionId}`;
}

/**
 * Neutral wording on purpose: a rollback tells consumers the old version is current again through
 * the same call, and "the credential it replaced" is then the new one, revoked at once.
 */
export function messageFor(notice: ConsumerNotice, channel: string | undefined, now: Date = new Date()): NotifyMessage {
  const text =
    `rotor: secret \`${escape(notice.secretId)}\` now uses version \`${escape(notice.versionId)}\` ` +
    `(run ${escape(notice.runId)}, ${now.toISOString()}). ` +
    `The credential it replaced stops working at the earliest at ${notice.revokeAfter.toISOString()}: ` +
    `update any copy you keep from ${escape(notice.store.backend)} ${escape(notice.store.location)} before then.`;
  return channel ? { text, channel } : { text };
}

async function deliver(ctx: ConsumerContext<NotifyParams>, notice: ConsumerNotice): Promise<void> {
  const url = await ctx.resolveRef(ctx.params.url);
  if (!url)
    throw new RotorError(`notify: ${ctx.params.url} resolves to an empty URL`, { hint: 'set the incoming-webhook URL it refers to' });
  // The whole URL is the credential: track it so no log line or error can carry it.
  trackSecret(url);
  let host: string;
  try {
    host = new URL(url).host;
  } catch {
    throw new RotorError(`notify: ${ctx.params.url} does not resolve to a URL`, { hint: 'it must hold an https:// incoming-webhook URL' });
  }
  await postSlackMessage(url, messageFor(notice, ctx.params.channel), {
    // The host only: the path of a Slack-style webhook URL is its secret.
    label: `notify ${host} (${ctx.params.url})`,
    timeoutMs: durationMs(ctx.params.timeout, 10_000),
    attempts: ctx.params.attempts ?? DEFAULT_ATTEMPTS,
    signal: ctx.signal,
  });
  delivered.set(keyOf(ctx.params, notice), true);
}

export const notifyConsumer = implementConsumer<NotifyParams>(descriptor, {
  async notify(ctx, notice) {
    await deliver(ctx, notice);
  },
  async confirm(ctx, notice) {
    if (!delivered.has(keyOf(ctx.params, notice))) await deliver(ctx, notice);
    return notice.versionId;
  },
});
