// The `local` secret store: versions with stages in the state database, each value sealed with
// AES-256-GCM under the master key. For single machines (the embedded default) and tests.
import type pg from 'pg';
import { InvalidInputError, NotFoundError, PermanentError } from '../../errors.js';
import { inTransaction } from '../../state/db.js';
import type { SecretStore, Stage, StoredVersion, VersionInfo } from '../contract.js';
import { encodeValue, openValue, sameValue, sealValue, sealingKey, type SealedValue, type SealingKey } from './crypto.js';
import { isConsistent, ordered, promoteStages, removeStage, STAGES, stageUpdates, type StageTable } from './stages.js';

export interface LocalStoreOptions {
  /** The state database, with migration 0002_local_store applied. */
  pool: pg.Pool;
  /**
   * The master key: the raw 32 bytes, or what loadMasterKey returned. Pass the latter when you have
   * it: a wrong-key error can then name where the key came from (ROTOR_MASTER_KEY or the key file).
   */
  key: Buffer | SealingKey;
  /**
   * Versions that hold no stage any more are kept for audit, newest first, up to this many per
   * location; older ones are deleted. A version that holds a stage is never deleted.
   * @defaultValue 5
   */
  keepUnstaged?: number;
}

const MAX_ID_LENGTH = 512;

interface SealedRow {
  version_id: string;
  ciphertext: Buffer;
  nonce: Buffer;
  auth_tag: Buffer;
  key_id: string;
}

const SEALED_COLUMNS = 'version_id, ciphertext, nonce, auth_tag, key_id';

export function createLocalStore(opts: LocalStoreOptions): SecretStore {
  const { pool } = opts;
  const key = sealingKey(opts.key);
  const keep = opts.keepUnstaged ?? 5;
  if (!Number.isInteger(keep) || keep < 0) {
    throw new InvalidInputError(`keepUnstaged is ${keep}; it must be a whole number of versions, 0 or more`);
  }

  const open = (location: string, row: SealedRow): StoredVersion => ({
    versionId: row.version_id,
    value: openValue(key, location, row.version_id, sealedOf(row)),
  });

  /**
   * Every stage change runs here: under the location's row lock, so two workers promoting or
   * staging the same secret at once are applied one after the other, each seeing the other's result.
   * The unique indexes of the migration are the backstop should anything bypass this path.
   */
  async function restage(location: string, transition: (table: StageTable) => StageTable): Promise<void> {
    await inTransaction(pool, async (c) => {
      const exists = await lockLocation(c, location, false);
      const before = exists ? await readStages(c, location) : new Map<string, Stage[]>();
      const after = transition(before);
      if (!isConsistent(after)) throw new Error(`local store: a stage change of ${location} would leave a stage on two versions`);
      const { removals, additions } = stageUpdates(before, after);
      for (const change of [...removals, ...additions]) {
        await c.query('update store_versions set stages = $3 where location = $1 and version_id = $2', [
          location,
          change.versionId,
          change.after,
        ]);
      }
      if (removals.length > 0) await prune(c, location, keep);
    });
  }

  return {
    backend: 'local',

    async get(location, stage) {
      checkId('location', location);
      if (!STAGES.includes(stage)) throw new InvalidInputError(`stage ${String(stage)} is not one of ${STAGES.join(', ')}`);
      const { rows } = await pool.query<SealedRow>(
        `select ${SEALED_COLUMNS} from store_versions where location = $1 and stages @> array[$2]::text[]`,
        [location, stage],
      );
      const row = rows[0];
      return row ? open(location, row) : null;
    },

    async getVersion(location, versionId) {
      checkId('location', location);
      checkId('version id', versionId);
      const { rows } = await pool.query<SealedRow>(`select ${SEALED_COLUMNS} from store_versions where location = $1 and version_id = $2`, [
        location,
        versionId,
      ]);
      const row = rows[0];
      return row ? open(location, row) : null;
    },

    async putPending(location, versionId, value) {
      checkId('location', location);
      checkId('version id', versionId);
      encodeValue(value).fill(0); // refuse a malformed value before taking the lock
      await inTransaction(pool, async (c) => {
        await lockLocation(c, location, true);
        const { rows } = await c.query<SealedRow>(`select ${SEALED_COLUMNS} from store_versions where location = $1 and version_id = $2`, [
          location,
          versionId,
        ]);
        const existing = rows[0];
        if (existing) {
          // The AWS PutSecretValue rule: the same token and value is a retry; another value is a bug.
          if (sameValue(open(location, existing).value, value)) return;
          throw new PermanentError(
            `version ${versionId} of ${location} already exists in the local store with a different value; a version's value never changes`,
            { hint: 'stage the new value under a new version id' },
          );
        }
        const pending = await c.query<{ version_id: string }>(
          "select version_id from store_versions where location = $1 and stages @> array['PENDING']::text[]",
          [location],
        );
        const other = pending.rows[0]?.version_id;
        if (other !== undefined) {
          throw new PermanentError(
            `${location} already has a PENDING version, ${other}, from a rotation that did not finish, so version ${versionId} cannot be staged`,
            { hint: `if that rotation is abandoned, clear it with: rotor repair ${location}  (it discards PENDING version ${other})` },
          );
        }
        const sealed = sealValue(key, location, versionId, value);
        await c.query(
          `insert into store_versions (location, version_id, ciphertext, nonce, auth_tag, key_id, stages)
           values ($1, $2, $3, $4, $5, $6, array['PENDING']::text[])`,
          [location, versionId, sealed.ciphertext, sealed.nonce, sealed.authTag, sealed.keyId],
        );
      });
    },

    async promote(location, versionId) {
      checkId('location', location);
      checkId('version id', versionId);
      await restage(location, (table) => {
        if (!table.has(versionId)) {
          throw new NotFoundError(`${location} has no version ${versionId} in the local store, so it cannot be promoted`, {
            hint: "a version exists once putPending (a run's create step) has staged it",
          });
        }
        return promoteStages(table, versionId);
      });
    },

    async discardPending(location, versionId) {
      checkId('location', location);
      checkId('version id', versionId);
      await restage(location, (table) => removeStage(table, 'PENDING', versionId));
    },

    async clearPrevious(location) {
      checkId('location', location);
      await restage(location, (table) => removeStage(table, 'PREVIOUS'));
    },

    async describe(location): Promise<VersionInfo[]> {
      checkId('location', location);
      const { rows } = await pool.query<{ version_id: string; stages: Stage[]; created_at: Date }>(
        `select version_id, stages, created_at from store_versions where location = $1
         order by created_at desc, version_id desc`,
        [location],
      );
      return rows.map((r) => ({ versionId: r.version_id, stages: ordered(r.stages), createdAt: r.created_at }));
    },
  };
}

/**
 * Takes the location's row lock for the rest of the transaction; with `create`, makes the row first.
 * Returns false when the location has never been written (nothing to lock, nothing to change).
 */
async function lockLocation(c: pg.PoolClient, location: string, create: boolean): Promise<boolean> {
  if (create) await c.query('insert into store_locations (location) values ($1) on conflict (location) do nothing', [location]);
  const { rowCount } = await c.query('select 1 from store_locations where location = $1 for update', [location]);
  return (rowCount ?? 0) > 0;
}

async function readStages(c: pg.PoolClient, location: string): Promise<StageTable> {
  const { rows } = await c.query<{ version_id: string; stages: Stage[] }>(
    'select version_id, stages from store_versions where location = $1',
    [location],
  );
  return new Map(rows.map((r) => [r.version_id, r.stages]));
}

/** Deletes stageless versions beyond the newest `keep`; the stage condition is in the SQL itself. */
async function prune(c: pg.PoolClient, location: string, keep: number): Promise<void> {
  await c.query(
    `delete from store_versions where location = $1 and cardinality(stages) = 0 and version_id in (
       select version_id from store_versions where location = $1 and cardinality(stages) = 0
       order by created_at desc, version_id desc offset $2)`,
    [location, keep],
  );
}

function sealedOf(row: SealedRow): SealedValue {
  return { ciphertext: row.ciphertext, nonce: row.nonce, authTag: row.auth_tag, keyId: row.key_id };
}

function checkId(what: string, id: string): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw new InvalidInputError(`a local store ${what} must be 1 to ${MAX_ID_LENGTH} characters`);
  }
}
