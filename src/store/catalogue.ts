// The store catalogue: every secret-store backend a policy may name, one descriptor each, one line
// each below. validate reads the schemas and locations; processes open the stores through it.
import awsSecretsManager from './aws-secrets-manager/descriptor.js';
import type { SecretStore, StoreDescriptor, StoreOpenOptions } from './contract.js';
import kubernetes from './kubernetes/descriptor.js';
import local from './local/descriptor.js';
import vaultKv from './vault-kv/descriptor.js';

export const BUILT_IN_STORES: readonly StoreDescriptor[] = [local, awsSecretsManager, kubernetes, vaultKv];

/** A secret without `store:` lives in the local store (encrypted in the state database). */
export const DEFAULT_STORE_BACKEND = 'local';

const BY_BACKEND = new Map(BUILT_IN_STORES.map((d) => [d.backend, d]));

export function storeKind(backend: string): StoreDescriptor | undefined {
  return BY_BACKEND.get(backend);
}

export function knownStores(): string[] {
  return [...BY_BACKEND.keys()];
}

/** Every store kind, opened for this process, by backend. */
export async function openAllStores(options: StoreOpenOptions): Promise<Record<string, SecretStore>> {
  const stores: Record<string, SecretStore> = {};
  for (const d of BUILT_IN_STORES) stores[d.backend] = await d.open(options);
  return stores;
}
