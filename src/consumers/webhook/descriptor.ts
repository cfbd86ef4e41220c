// The webhook consumer type, declared once: its entry schema; the implementation (the signed POST
// and its confirmation) loads on demand.
import { z } from 'zod';
import { credentialRef } from '../../rotator/params.js';
import { duration, httpUrl } from '../../policy/fields.js';
import type { ConsumerDescriptor } from '../contract.js';
import { consumerEntrySchema, type ConsumerParamsOf } from '../common.js';

export const webhookEntrySchema = consumerEntrySchema('webhook', {
  /** Receives a signed POST with ids and the new version id (never the value). */
  url: httpUrl(),
  /** Answers with the version the application uses; without it, a 2xx on url confirms. */
  verify: httpUrl().optional(),
  /** Reference to the HMAC-SHA256 key that signs each request. */
  secret: credentialRef(),
  /** @defaultValue 10s */
  timeout: duration().default('10s'),
  /** Tries per request on network errors, timeouts, 5xx and 429 (never on other 4xx). @defaultValue 3 */
  attempts: z.number().int().min(1).max(10).optional(),
});

export type WebhookParams = ConsumerParamsOf<typeof webhookEntrySchema>;

// Annotated, not inferred: index.ts imports this module back.
const descriptor: ConsumerDescriptor<WebhookParams> = {
  type: 'webhook',
  carriesValue: false,
  schema: webhookEntrySchema,
  load: async () => (await import('./index.js')).webhookConsumer,
};

export default descriptor;
