// The `vault-kv` secret store: HashiCorp Vault / OpenBao KV version 2. Every value rotor stages is a
// KV version, written with check-and-set (options.cas = the version rotor read), so a concurrent
// writer is never overwritten: its write wins the race, rotor reads again and writes on top, and
// the other value stays in the history. rotor's stages live in the secret's custom_metadata:
//   rotor-current-version / rotor-pending-version / rotor-previous-version: rotor version ids
//   rotor-kv-<N>: the rotor version id KV version N holds (versions rotor did not write have none)
//   rotor-run: the run that last changed a stage
// CURRENT is what rotor promoted (never merely the newest KV version), so a version written but not
// promoted is never read as current. Applications read the newest version, so rotor keeps the newest
// equal to CURRENT whenever it can: a rollback (promoting PREVIOUS) and a discard write the CURRENT
// value again as a new version instead of leaving the abandoned one newest.
import { InvalidInputError, NotFoundError, PermanentError, UnavailableError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { trackSecret } from '../../redact.js';
import type { SecretValue } from '../../rotator/contract.js';
import type { SecretStore, Stage, StoredVersion, VersionInfo } from '../contract.js';
import { STAGES } from '../local/stages.js';
import { createVaultClient, errorsOf, type VaultClient } from './client.js';
import { vaultSettings } from './settings.js';

const STAGE_KEY: Readonly<Record<Stage, string>> = {
  CURRENT: 'rotor-current-version',
  PENDING: 'rotor-pending-version',
  PREVIOUS: 'rotor-previous-version',
};
const KV_KEY = 'rotor-kv-';
/** Index entries kept at most (custom_metadata holds 64 keys; the rest are the owner's). */
const MAX_INDEX = 40;
/** Re-reads after a check-and-set mismatch before giving up for this attempt. */
const CAS_TRIES = 5;

export interface VaultKvStoreOptions {
  log?: Logger | undefined;
  /** A client of its own (tests); otherwise one from rotor's environment, made on first use. */
  client?: VaultClient | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

/** One secret's KV metadata as rotor reads it. */
interface Meta {
  currentKv: number;
  /** KV versions still readable (not deleted, not destroyed), with their creation time. */
  live: Map<number, Date>;
  custom: Record<string, string>;
}

/** A check-and-set write lost to a concurrent writer. */
class CasMismatch extends Error {}

/** `secret/app/db` → the mount (first segment) and the path within it. */
export function splitLocation(location: string): { mount: string; path: string } {
  const slash = typeof location === 'string' ? location.indexOf('/') : -1;
  if (slash <= 0 || slash === location.length - 1 || location.length > 1024) {
    throw new InvalidInputError(`a Vault KV location must be <mount>/<path>, not ${String(location)}`);
  }
  return { mount: location.slice(0, slash), path: location.slice(slash + 1) };
}

const enc = (path: string) => path.split('/').map(encodeURIComponent).join('/');

/** The value as compared: JSON with sorted keys, so key order does not make two values differ. */
function canonical(value: SecretValue): string {
  return JSON.stringify(Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** The run a version id belongs to (`<run id>-<attempt>`). */
const runOf = (versionId: string) => versionId.replace(/-\d+$/, '');

export function createVaultKvStore(opts: VaultKvStoreOptions = {}): SecretStore {
  const log = opts.log ?? silentLogger;
  let client = opts.client;
  const vault = (): VaultClient => (client ??= createVaultClient(vaultSettings(opts.env ?? process.env), log));

  async function readMeta(location: string): Promise<Meta | null> {
    const { mount, path } = splitLocation(location);
    const a = await vault().request({ method: 'GET', path: `${mount}/metadata/${enc(path)}`, capabilities: ['read'] });
    if (a.status === 404) return null;
    const d = (a.body?.data ?? {}) as {
      current_version?: number;
      custom_metadata?: Record<string, string> | null;
      versions?: Record<string, { created_time?: string; deletion_time?: string; destroyed?: boolean }>;
    };
    const live = new Map<number, Date>();
    for (const [n, v] of Object.entries(d.versions ?? {})) {
      if (!v.destroyed && !v.deletion_time) live.set(Number(n), new Date(v.created_time ?? 0));
    }
    return { currentKv: d.current_version ?? 0, live, custom: d.custom_metadata ?? {} };
  }

  async function readData(location: string, kv: number, what: string): Promise<SecretValue | null> {
    const { mount, path } = splitLocation(location);
    const a = await vault().request({ method: 'GET', path: `${mount}/data/${enc(path)}?version=${kv}`, capabilities: ['read'] });
    if (a.status === 404) return null;
    const data = (a.body?.data as { data?: unknown } | undefined)?.data;
    return decode(data, `${what} (KV version ${kv}) of Vault secret ${location}`);
  }

  /** Writes a new KV version only if the newest is still `cas`; returns its number. */
  async function writeData(location: string, value: SecretValue, cas: number): Promise<number> {
    const { mount, path } = splitLocation(location);
    const a = await vault().request({
      method: 'POST',
      path: `${mount}/data/${enc(path)}`,
      body: { data: value, options: { cas } },
      capabilities: ['create', 'update'],
    });
    if (a.status === 400 && /check-and-set parameter did not match/i.test(errorsOf(a))) throw new CasMismatch();
    if (a.status !== 200) {
      throw new PermanentError(`Vault refused a write to ${location} (HTTP ${a.status}): ${errorsOf(a)}`, {
        hint: `check that ${mount} is a KV version 2 mount (vault secrets enable -version=2 -path=${mount} kv)`,
      });
    }
    return Number((a.body?.data as { version?: number } | undefined)?.version);
  }

  /** Merges `changes` into custom_metadata (null removes a key); other keys are left as they are. */
  async function patchMeta(location: string, changes: Record<string, string | null>): Promise<void> {
    const { mount, path } = splitLocation(location);
    const a = await vault().request({
      method: 'PATCH',
      path: `${mount}/metadata/${enc(path)}`,
      body: { custom_metadata: changes },
      capabilities: ['patch'],
    });
    if (a.status >= 300) throw new PermanentError(`Vault refused to update the metadata of ${location} (HTTP ${a.status}): ${errorsOf(a)}`);
  }

  async function softDelete(location: string, kv: number): Promise<void> {
    const { mount, path } = splitLocation(location);
    await vault().request({ method: 'POST', path: `${mount}/delete/${enc(path)}`, body: { versions: [kv] }, capabilities: ['update'] });
  }

  /** KV versions holding `versionId`, newest first (only those still readable). */
  function kvOf(meta: Meta, versionId: string): number[] {
    return Object.entries(meta.custom)
      .filter(([k, v]) => k.startsWith(KV_KEY) && v === versionId)
      .map(([k]) => Number(k.slice(KV_KEY.length)))
      .filter((n) => meta.live.has(n))
      .sort((a, b) => b - a);
  }

  /** Index entries of versions Vault no longer keeps, and the oldest beyond MAX_INDEX: removed. */
  function pruned(meta: Meta, adding: number): Record<string, null> {
    const stageHolders = new Set(STAGES.map((s) => meta.custom[STAGE_KEY[s]]));
    const entries = Object.entries(meta.custom)
      .filter(([k]) => k.startsWith(KV_KEY))
      .map(([k, v]) => ({ k, n: Number(k.slice(KV_KEY.length)), v }));
    const out: Record<string, null> = {};
    const kept = entries.filter((e) => meta.live.has(e.n) || e.n === adding);
    for (const e of entries) if (!kept.includes(e)) out[e.k] = null;
    const removable = kept.filter((e) => !stageHolders.has(e.v) && e.n !== adding).sort((a, b) => a.n - b.n);
    for (const e of removable.slice(0, Math.max(0, kept.length + 1 - MAX_INDEX))) out[e.k] = null;
    return out;
  }

  /**
   * Makes `value` (rotor version `versionId`) the newest KV version and returns the metadata changes
   * recording it. A newest version nobody indexed that holds exactly this value is the write of an
   * earlier pass that stopped before recording it: adopted, not written twice.
   */
  async function writeNewest(location: string, meta: Meta, versionId: string, value: SecretValue): Promise<Record<string, string | null>> {
    let kv: number;
    const newest = meta.currentKv;
    const unindexed = newest > 0 && meta.live.has(newest) && meta.custom[`${KV_KEY}${newest}`] === undefined;
    const same = unindexed && canonical((await readData(location, newest, 'the newest version')) ?? {}) === canonical(value);
    if (same) kv = newest;
    else kv = await writeData(location, value, newest);
    return { ...pruned(meta, kv), [`${KV_KEY}${kv}`]: versionId, 'rotor-run': runOf(versionId) };
  }

  /** Runs `attempt` on fresh metadata until no concurrent writer gets in between. */
  async function withCas<T>(location: string, attempt: (meta: Meta) => Promise<T>): Promise<T> {
    for (let i = 1; ; i++) {
      const meta = (await readMeta(location)) ?? { currentKv: 0, live: new Map(), custom: {} };
      try {
        return await attempt(meta);
      } catch (err) {
        if (!(err instanceof CasMismatch)) throw err;
        log.info({ location, try: i }, 'a concurrent writer changed the Vault secret between read and write; reading it again');
        if (i >= CAS_TRIES) {
          throw new UnavailableError(`Vault secret ${location} kept changing under rotor (${CAS_TRIES} check-and-set mismatches)`, {
            hint: 'another writer is updating it continuously; the engine tries again with backoff',
          });
        }
      }
    }
  }

  async function valueOf(location: string, meta: Meta, versionId: string, what: string): Promise<StoredVersion | null> {
    const kv = kvOf(meta, versionId)[0];
    if (kv === undefined) return null;
    const value = await readData(location, kv, what);
    return value ? { versionId, value } : null;
  }

  return {
    backend: 'vault-kv',

    async get(location, stage) {
      if (!STAGES.includes(stage)) throw new InvalidInputError(`stage ${String(stage)} is not one of ${STAGES.join(', ')}`);
      const meta = await readMeta(location);
      const id = meta?.custom[STAGE_KEY[stage]];
      if (!meta || !id) return null;
      const found = await valueOf(location, meta, id, stage);
      if (!found) {
        throw new PermanentError(`the ${stage} version ${id} of Vault secret ${location} was deleted or destroyed outside rotor`, {
          hint: `undelete it (vault kv undelete) or, for PENDING, clear it with: rotor repair <secret id>`,
        });
      }
      return found;
    },

    async getVersion(location, versionId) {
      const meta = await readMeta(location);
      return meta ? valueOf(location, meta, versionId, `version ${versionId}`) : null;
    },

    async putPending(location, versionId, value) {
      checkVersionId(versionId);
      await withCas(location, async (meta) => {
        const known = kvOf(meta, versionId);
        if (known.length) {
          const stored = await readData(location, known[known.length - 1]!, `version ${versionId}`);
          if (stored && canonical(stored) === canonical(value)) return;
          throw new PermanentError(
            `version ${versionId} of Vault secret ${location} already exists with a different value; a version's value never changes`,
            { hint: 'stage the new value under a new version id' },
          );
        }
        const pending = meta.custom[STAGE_KEY.PENDING];
        if (pending && pending !== versionId) {
          throw new PermanentError(
            `Vault secret ${location} already has a PENDING version, ${pending}, from a rotation that did not finish, so version ${versionId} cannot be staged`,
            { hint: `if that rotation is abandoned, clear it with: rotor repair <secret id>  (it discards PENDING version ${pending})` },
          );
        }
        await patchMeta(location, { ...(await writeNewest(location, meta, versionId, value)), [STAGE_KEY.PENDING]: versionId });
      });
    },

    async promote(location, versionId) {
      checkVersionId(versionId);
      await withCas(location, async (meta) => {
        const kv = kvOf(meta, versionId)[0];
        if (kv === undefined) {
          throw new NotFoundError(`Vault secret ${location} has no staged version ${versionId}, so it cannot be promoted`, {
            hint: "a version exists once putPending (a run's create step) has staged it",
          });
        }
        const current = meta.custom[STAGE_KEY.CURRENT];
        const changes: Record<string, string | null> = {};
        if (meta.custom[STAGE_KEY.PENDING] === versionId) changes[STAGE_KEY.PENDING] = null;
        if (current !== versionId) {
          // Applications read the newest version: make it this one (a rollback writes it again).
          if (kv !== meta.currentKv)
            Object.assign(changes, await writeNewest(location, meta, versionId, (await readData(location, kv, 'the promoted version'))!));
          changes[STAGE_KEY.CURRENT] = versionId;
          // The former CURRENT becomes PREVIOUS; without one, a PREVIOUS other than this version stays.
          const previous = meta.custom[STAGE_KEY.PREVIOUS];
          changes[STAGE_KEY.PREVIOUS] = current ?? (previous && previous !== versionId ? previous : null);
          changes['rotor-run'] = runOf(versionId);
        }
        if (Object.keys(changes).length) await patchMeta(location, changes);
      });
    },

    async discardPending(location, versionId) {
      checkVersionId(versionId);
      await withCas(location, async (meta) => {
        if (meta.custom[STAGE_KEY.PENDING] !== versionId) return;
        const changes: Record<string, string | null> = { [STAGE_KEY.PENDING]: null };
        // The abandoned value is the newest: applications would read it. Put CURRENT back on top
        // (a newest version someone else wrote is left alone).
        const current = meta.custom[STAGE_KEY.CURRENT];
        if (kvOf(meta, versionId).includes(meta.currentKv)) {
          const value = current ? await valueOf(location, meta, current, 'CURRENT') : null;
          if (value) Object.assign(changes, await writeNewest(location, meta, current!, value.value));
          // Nothing was ever current: the abandoned version is soft-deleted, so a read finds no value.
          else if (!current) await softDelete(location, meta.currentKv);
        }
        await patchMeta(location, changes);
      });
    },

    async clearPrevious(location) {
      const meta = await readMeta(location);
      if (meta?.custom[STAGE_KEY.PREVIOUS]) await patchMeta(location, { [STAGE_KEY.PREVIOUS]: null });
    },

    async describe(location): Promise<VersionInfo[]> {
      const meta = await readMeta(location);
      if (!meta) return [];
      const first = new Map<string, number>();
      for (const [k, v] of Object.entries(meta.custom)) {
        if (!k.startsWith(KV_KEY)) continue;
        const n = Number(k.slice(KV_KEY.length));
        if (meta.live.has(n) && (first.get(v) ?? Infinity) > n) first.set(v, n);
      }
      return [...first.entries()]
        .map(([versionId, n]) => ({
          versionId,
          stages: STAGES.filter((s) => meta.custom[STAGE_KEY[s]] === versionId),
          createdAt: meta.live.get(n)!,
          n,
        }))
        .sort((a, b) => b.n - a.n)
        .map(({ versionId, stages, createdAt }) => ({ versionId, stages, createdAt }));
    },
  };
}

/** A KV version's data as a flat value; the error names the field, never what it holds. */
function decode(data: unknown, what: string): SecretValue {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new PermanentError(`${what} holds no key/value data`, { hint: 'rotor stores a flat map of strings and numbers' });
  }
  const value: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'string' && typeof v !== 'number') {
      throw new PermanentError(`${what}: field ${k} is a ${v === null ? 'null' : typeof v}, not a string or number`, {
        hint: 'rotor stores a flat map of strings and numbers (username, password, host, port, ...)',
      });
    }
    value[k] = v;
  }
  trackSecret(value);
  return value;
}

/** custom_metadata values take at most 512 bytes; rotor's version ids are run id and attempt. */
function checkVersionId(versionId: string): string {
  if (typeof versionId !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(versionId)) {
    throw new InvalidInputError(`version id ${String(versionId)} cannot be recorded in Vault custom_metadata`);
  }
  return versionId;
}
