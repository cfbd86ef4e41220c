// The secret-store contract: versioned values with stages, modelled on AWS Secrets Manager.
import type pg from 'pg';
import type { z } from 'zod';
import type { Logger } from '../log.js';
import type { SecretValue } from '../rotator/contract.js';
import type { SealingKey } from './local/crypto.js';

/** CURRENT is what consumers read; PENDING is staged by a run; PREVIOUS is the one before. */
export type Stage = 'CURRENT' | 'PENDING' | 'PREVIOUS';

export interface StoredVersion {
  versionId: string;
  value: SecretValue;
}

/** What `status` and the dashboard may show: never a value. */
export interface VersionInfo {
  versionId: string;
  stages: Stage[];
  createdAt: Date;
}

/**
 * A backend keyed by a store-specific location (the secret id for `local`, the SecretId for AWS).
 * Every mutating call is idempotent in its versionId, the run id, so a resumed run converges.
 */
export interface SecretStore {
  readonly backend: string;
  get(location: string, stage: Stage): Promise<StoredVersion | null>;
  getVersion(location: string, versionId: string): Promise<StoredVersion | null>;
  /**
   * Stages `value` as PENDING under `versionId`. Calling it again with the same versionId and
   * value does nothing; with a different value it fails (the AWS PutSecretValue rule).
   * Fails when PENDING is held by another version (an unfinished earlier rotation).
   */
  putPending(location: string, versionId: string, value: SecretValue): Promise<void>;
  /** Makes `versionId` CURRENT; the former CURRENT becomes PREVIOUS. Also used for rollback. */
  promote(location: string, versionId: string): Promise<void>;
  /** Removes the PENDING stage from `versionId` (a discarded run). No-op when absent. */
  discardPending(location: string, versionId: string): Promise<void>;
  /** Removes the PREVIOUS stage (after grace, for stores that keep old keys readable). */
  clearPrevious(location: string): Promise<void>;
  describe(location: string): Promise<VersionInfo[]>;
}

/** What a store kind may need to open in this process. */
export interface StoreOpenOptions {
  /** The state database (the local store keeps its versions there). */
  readonly pool: pg.Pool;
  readonly log: Logger;
  /**
   * The master key, for kinds that seal values themselves (local): the raw 32 bytes or what
   * loadMasterKey returned (src/store/master-key.ts).
   */
  readonly masterKey: Buffer | SealingKey;
}

/**
 * One secret-store kind, declared once (`src/store/<backend>/descriptor.ts`): what validate reads
 * (schema, location) and how a process opens it. Cheap to import: the implementation (and its SDK)
 * loads on demand.
 */
export interface StoreDescriptor {
  /** The `store: { backend }` a policy writes. */
  readonly backend: string;
  /** Validates the whole `store:` map, `backend` included; unknown fields are errors. */
  readonly schema: z.ZodType<Record<string, unknown>>;
  /** Where the value lives in this backend, from validated params (without `backend`). */
  location(params: Record<string, unknown>, secretId: string): string;
  /** Imports the implementation and opens the store. */
  open(options: StoreOpenOptions): Promise<SecretStore>;
}
