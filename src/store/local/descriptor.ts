// The `local` store kind, declared once: its policy schema and location; the implementation loads on demand.
import { z } from 'zod';
import type { StoreDescriptor } from '../contract.js';

export const localStoreSchema = z.strictObject({
  backend: z.literal('local'),
  /** Key in the local store. @defaultValue the secret id */
  name: z.string().min(1).max(512).optional(),
});

const descriptor: StoreDescriptor = {
  backend: 'local',
  schema: localStoreSchema,
  location: (params, secretId) => (typeof params.name === 'string' ? params.name : secretId),
  open: async ({ pool, masterKey }) => (await import('./store.js')).createLocalStore({ pool, key: masterKey }),
};

export default descriptor;
