// The `kubernetes` store kind, declared once: its policy schema and location; the implementation
// (and @kubernetes/client-node) loads on demand.
import { z } from 'zod';
import { contextField, namespaceField, objectName, secretLocation } from '../../kubernetes.js';
import type { StoreDescriptor } from '../contract.js';

export const kubernetesStoreSchema = z.strictObject({
  backend: z.literal('kubernetes'),
  namespace: namespaceField(),
  /** The Secret (created when missing); rotor's keys are the value's fields, the others are kept. */
  name: objectName('Secret'),
  /** One of the contexts of the kubeconfig rotor runs with. @defaultValue its current context */
  context: contextField().optional(),
  /**
   * Also write the PREVIOUS value as `previous-<field>` keys while it is staged (through grace), for
   * applications that accept two credentials. @defaultValue false
   */
  previous: z.boolean().optional(),
});

const descriptor: StoreDescriptor = {
  backend: 'kubernetes',
  schema: kubernetesStoreSchema,
  // `payments/db-app`, `payments/db-app?context=prod&previous=1`.
  location: (params) =>
    secretLocation({
      namespace: String(params.namespace),
      name: String(params.name),
      context: params.context as string | undefined,
      previous: params.previous === true,
    }),
  open: async ({ log }) => (await import('./store.js')).createKubernetesStore({ log }),
};

export default descriptor;
