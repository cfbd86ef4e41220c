// The notify consumer type, declared once: its entry schema; the implementation
// (a Slack-compatible message to people) loads on demand.
import { z } from 'zod';
import { credentialRef } from '../../rotator/params.js';
import { duration } from '../../policy/fields.js';
import type { ConsumerDescriptor } from '../contract.js';
import { consumerEntrySchema, type ConsumerParamsOf } from '../common.js';

export const notifyEntrySchema = consumerEntrySchema('notify', {
  /** Reference to a Slack-compatible incoming webhook URL: the URL itself is a credential. */
  url: credentialRef(),
  channel: z.string().min(1).optional(),
  /** @defaultValue 10s */
  timeout: duration().optional(),
  /** Tries per message on network errors, timeouts, 5xx and 429. @defaultValue 3 */
  attempts: z.number().int().min(1).max(10).optional(),
});

export type NotifyParams = ConsumerParamsOf<typeof notifyEntrySchema>;

// Annotated, not inferred: index.ts imports this module back.
const descriptor: ConsumerDescriptor<NotifyParams> = {
  type: 'notify',
  carriesValue: false,
  schema: notifyEntrySchema,
  load: async () => (await import('./index.js')).notifyConsumer,
};

export default descriptor;
