// The ecs consumer type, declared once: its entry schema; the implementation (UpdateService with
// forceNewDeployment and the rollout's confirmation, with the AWS SDK) loads on demand.
import { z } from 'zod';
import { AWS_REGION_PATTERN } from '../../aws/region.js';
import type { ConsumerDescriptor } from '../contract.js';
import { consumerEntrySchema, type ConsumerParamsOf } from '../common.js';

/** A cluster or service name (letters, digits, `-`, `_`, up to 255) or its ARN. */
const ecsName = (what: string) =>
  z
    .string()
    .min(1)
    .max(2048)
    .regex(/^(arn:aws[a-z-]*:ecs:\S+|[A-Za-z0-9_-]{1,255})$/, { error: `must be an ECS ${what} name or ARN` });

export const ecsEntrySchema = consumerEntrySchema('ecs', {
  /** The cluster the services run in (name or ARN). */
  cluster: ecsName('cluster'),
  /**
   * Services restarted with a new deployment (names or ARNs of the cluster); their tasks read the
   * secret when they start. Confirmed when every one's new deployment is COMPLETED with its running
   * count at the desired count.
   */
  services: z
    .array(ecsName('service'))
    .min(1)
    .max(10)
    .refine((s) => new Set(s).size === s.length, { error: 'lists a service twice' }),
  /** @defaultValue the AWS SDK's region (AWS_REGION) */
  region: z.string().regex(AWS_REGION_PATTERN, { error: 'must be an AWS region such as eu-central-1' }).optional(),
});

export type EcsParams = ConsumerParamsOf<typeof ecsEntrySchema>;

// Annotated, not inferred: index.ts imports this module back.
const descriptor: ConsumerDescriptor<EcsParams> = {
  type: 'ecs',
  // Tasks read the secret from the store themselves (the task definition's `secrets`): ids only.
  carriesValue: false,
  schema: ecsEntrySchema,
  load: async () => (await import('./index.js')).ecsConsumer,
};

export default descriptor;
