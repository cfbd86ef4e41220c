// The kubernetes consumer type, declared once: its entry schema; the implementation (rolling
// restarts and their confirmation, through @kubernetes/client-node) loads on demand.
import { z } from 'zod';
import { contextField, namespaceField, objectName } from '../../kubernetes.js';
import type { ConsumerDescriptor } from '../contract.js';
import { consumerEntrySchema, type ConsumerParamsOf } from '../common.js';

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;

/** An annotation key: an optional DNS-subdomain prefix and a name. */
const ANNOTATION_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

const workload = z
  .strictObject({
    kind: z.enum(WORKLOAD_KINDS),
    /** One workload by name... */
    name: objectName('workload').optional(),
    /** ...or every workload of the kind whose labels match (`app=payments,tier!=batch`). */
    selector: z.string().min(1).max(1000).optional(),
  })
  .refine((w) => (w.name === undefined) !== (w.selector === undefined), { error: 'give exactly one of name and selector' });

export const kubernetesEntrySchema = consumerEntrySchema('kubernetes', {
  namespace: namespaceField(),
  /** One of the contexts of the kubeconfig rotor runs with. @defaultValue its current context */
  context: contextField().optional(),
  workloads: z.array(workload).min(1).max(50),
  /**
   * `restart`: a rolling restart (as `kubectl rollout restart`), confirmed once the rollout completed.
   * `wait-for-reload`: no restart; confirmed once every pod reports the version in `annotation`.
   * @defaultValue restart
   */
  mode: z.enum(['restart', 'wait-for-reload']).default('restart'),
  /** The pod annotation an application that reloads on its own sets to the version it uses. @defaultValue rotor.dev/version */
  annotation: z.string().regex(ANNOTATION_KEY, { error: 'must be an annotation key such as rotor.dev/version' }).optional(),
});

export type KubernetesParams = ConsumerParamsOf<typeof kubernetesEntrySchema>;

// Annotated, not inferred: index.ts imports this module back.
const descriptor: ConsumerDescriptor<KubernetesParams> = {
  type: 'kubernetes',
  carriesValue: false,
  schema: kubernetesEntrySchema,
  load: async () => (await import('./index.js')).kubernetesConsumer,
};

export default descriptor;
