// Messages to Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat, Teams' Slack
// hooks), for the notify consumer and the alert sender alike: one escaping rule, one body, one POST.
import { send } from './http.js';

/** The body those services accept. */
export interface SlackMessage {
  text: string;
  channel?: string;
}

/** Slack's mrkdwn reserves `&`, `<` and `>` (its link syntax is `<url|text>`): escaped in any text. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface PostOptions {
  /** How errors name the hook: never its URL, whose path is the hook's own secret. */
  label: string;
  timeoutMs: number;
  attempts: number;
  signal: AbortSignal;
}

/** Posts one message; retries as `send` does, and throws what it throws. */
export async function postSlackMessage(url: string, message: SlackMessage, opts: PostOptions): Promise<void> {
  const body = JSON.stringify(message);
  await send({
    url,
    ...opts,
    build: () => ({ method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'rotor' }, body }),
  });
}
