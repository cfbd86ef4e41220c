// The `local` secret store: versions with stages in the state database, each value sealed with
// AES-256-GCM under the master key. For single machines (the embedded default) and tests.
import type pg from 'pg';
import { InvalidInputError, NotFoundError, PermanentError } from '../../errors.js';
import { inTransaction } from '../../state/db.js';
import type { SecretStore, Stage, StoredVersion, VersionInfo } from '../contract.js';
import { openValue, sameValue, sealValue, sealingKey, type SealedValue, type SealingKey } from './crypto.js';
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
      // Never written: nothing to lock, and the transition says what that means (promote refuses).
      const before = (await lockAndReadStages(c, location)) ?? new Map<string, Stage[]>();
      const after = transition(before);
      if (!isConsistent(after)) throw new Error(`local store: a stage change of ${location} would leave a stage on two versions`);
      const { removals, additions } = stageUpdates(before, after);
      // PostgreSQL checks the one-version-per-stage indexes row by row, so every removal is written
      // (one statement) before any addition (another): a swap never has a stage on two rows.
      for (const changes of [removals, additions]) {
        if (changes.length === 0) continue;
        await c.query(
          `update store_versions v set stages = x.stages
             from (select unnest($2::text[]) as version_id, unnest($3::text[])::text[] as stages) x
            where v.location = $1 and v.version_id = x.version_id`,
          [location, changes.map((ch) => ch.versionId), changes.map((ch) => stagesLiteral(ch.after))],
        );
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
      const sealed = sealValue(key, location, versionId, value); // refuses a malformed value before any write
      // The usual case in one statement: a new version where no PENDING is staged. The primary key
      // and the one-PENDING index decide, so nothing is written when either holds another row.
      const { rowCount } = await pool.query(
        `with l as (insert into store_locations (location) values ($1) on conflict (location) do nothing)
         insert into store_versions (location, version_id, ciphertext, nonce, auth_tag, key_id, stages)
         values ($1, $2, $3, $4, $5, $6, array['PENDING']::text[]) on conflict do nothing`,
        [location, versionId, sealed.ciphertext, sealed.nonce, sealed.authTag, sealed.keyId],
      );
      if (rowCount === 1) return;
      // Not inserted: this version is there already (a retry), or another holds PENDING. Under the lock, say which.
      await inTransaction(pool, async (c) => {
        await lockLocation(c, location);
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
          throw pendingTaken(location, versionId, other);
        }
        // The other PENDING was discarded in between: stage this one now, under the lock. A fast
        // putPending of another version may have staged one meanwhile (it takes no lock): the
        // one-PENDING index refuses it, with the same answer as above.
        const staged = await c.query(
          `insert into store_versions (location, version_id, ciphertext, nonce, auth_tag, key_id, stages)
           values ($1, $2, $3, $4, $5, $6, array['PENDING']::text[]) on conflict do nothing`,
          [location, versionId, sealed.ciphertext, sealed.nonce, sealed.authTag, sealed.keyId],
        );
        if (staged.rowCount !== 1) {
          throw pendingTaken(location, versionId, null);
        }
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
 * Takes the location's row lock for the rest of the transaction; false when the location has never
 * been written. `for no key update`: stage changes wait for each other, while a version's insert
 * (whose foreign key check takes a key-share lock on this row) is not held up by them, so a fast
 * putPending and a locked one can never wait for each other in a circle.
 */
async function lockLocation(c: pg.PoolClient, location: string): Promise<boolean> {
  const { rowCount } = await c.query('select 1 from store_locations where location = $1 for no key update', [location]);
  return (rowCount ?? 0) > 0;
}

/**
 * Takes the location's row lock for the rest of the transaction, then reads its versions' stages:
 * two statements, since a statement that waited for the lock would still read from the snapshot it
 * began with, before the holder's changes. Null when the location has never been written.
 */
async function lockAndReadStages(c: pg.PoolClient, location: string): Promise<StageTable | null> {
  if (!(await lockLocation(c, location))) return null;
  const { rows } = await c.query<{ version_id: string; stages: Stage[] }>(
    'select version_id, stages from store_versions where location = $1',
    [location],
  );
  return new Map(rows.map((r) => [r.version_id, r.stages]));
}

/** A text[] literal of stages (their names are fixed words: no quoting needed), for unnest() of text. */
function stagesLiteral(stages: readonly Stage[]): string {
  return `{${stages.join(',')}}`;
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

/** putPending's refusal: another version holds PENDING (named when known), left by a rotation that did not finish. */
function pendingTaken(location: string, versionId: string, other: string | null): PermanentError {
  const held = other === null ? 'a PENDING version' : `a PENDING version, ${other},`;
  return new PermanentError(
    `${location} already has ${held} from a rotation that did not finish, so version ${versionId} cannot be staged`,
    {
      hint: `if that rotation is abandoned, clear it with: rotor repair ${location}${other === null ? '' : `  (it discards PENDING version ${other})`}`,
    },
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
