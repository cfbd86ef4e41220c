// A master key rotation of the local store: every version sealed with a previous key is opened
// and sealed again with the current one, row by row, each guarded by the key id it was read with.
// The values never leave this process and never change; only their ciphertext does.
import type pg from 'pg';
import { InvalidInputError } from '../../errors.js';
import { inTransaction } from '../../state/db.js';
import { openValue, sealValue, sealingKey, type SealingKey } from './crypto.js';

export interface RekeyResult {
  /** The current key's id: every version is sealed with it afterwards. */
  keyId: string;
  /** Versions sealed again, by the key id they had. */
  moved: Record<string, number>;
  /** Versions that were already under the current key. */
  already: number;
  /**
   * Versions under another key when it finished: sealed meanwhile by a process that still runs
   * with the old ROTOR_MASTER_KEY. 0 when every process was restarted with the new key first.
   */
  remaining: number;
}

const BATCH = 200;

/**
 * Refuses, changing nothing, when a version is sealed with a key that is neither the current one
 * nor in ROTOR_MASTER_KEY_PREVIOUS: that version could not be opened, and a half-done rotation
 * would leave the operator two problems.
 */
export async function rekeyLocalStore(pool: pg.Pool, key: Buffer | SealingKey): Promise<RekeyResult> {
  const sealing = sealingKey(key);
  const known = new Set([sealing.keyId, ...(sealing.previous ?? []).map((p) => p.keyId)]);
  const counts = (
    await pool.query<{ key_id: string; n: number }>('select key_id, count(*)::int as n from store_versions group by key_id order by key_id')
  ).rows;
  const unknown = counts.filter((c) => !known.has(c.key_id));
  if (unknown.length) {
    throw new InvalidInputError(
      `the local store has versions sealed with ${unknown.map((u) => `key ${u.key_id} (${u.n})`).join(', ')}, which is neither ROTOR_MASTER_KEY (${sealing.keyId}) nor in ROTOR_MASTER_KEY_PREVIOUS; nothing was changed`,
      { hint: 'add those keys to ROTOR_MASTER_KEY_PREVIOUS (comma-separated) and run rotor rekey again' },
    );
  }
  const moved: Record<string, number> = {};
  for (;;) {
    const done = await inTransaction(pool, async (c) => {
      const { rows } = await c.query<{
        location: string;
        version_id: string;
        ciphertext: Buffer;
        nonce: Buffer;
        auth_tag: Buffer;
        key_id: string;
      }>(
        `select location, version_id, ciphertext, nonce, auth_tag, key_id from store_versions
          where key_id <> $1 order by location, version_id limit $2 for update`,
        [sealing.keyId, BATCH],
      );
      for (const r of rows) {
        const value = openValue(sealing, r.location, r.version_id, {
          ciphertext: r.ciphertext,
          nonce: r.nonce,
          authTag: r.auth_tag,
          keyId: r.key_id,
        });
        const sealed = sealValue(sealing, r.location, r.version_id, value);
        await c.query(
          `update store_versions set ciphertext = $3, nonce = $4, auth_tag = $5, key_id = $6
            where location = $1 and version_id = $2 and key_id = $7`,
          [r.location, r.version_id, sealed.ciphertext, sealed.nonce, sealed.authTag, sealed.keyId, r.key_id],
        );
        moved[r.key_id] = (moved[r.key_id] ?? 0) + 1;
      }
      return rows.length < BATCH;
    });
    if (done) break;
  }
  const already = counts.find((c) => c.key_id === sealing.keyId)?.n ?? 0;
  const remaining = (await pool.query<{ n: number }>('select count(*)::int as n from store_versions where key_id <> $1', [sealing.keyId]))
    .rows[0]!.n;
  return { keyId: sealing.keyId, moved, already, remaining };
}
