// The `kubernetes` secret store: one Secret per location. Applications read the CURRENT value's
// fields as keys of their own (`username`, `password`, ...; mounted as files or env), with
// `previous-<field>` keys while a PREVIOUS is staged when the policy asks. rotor's versions and
// stages live in the same Secret under one key, `rotor-versions` (JSON), so a stage move and the
// keys applications read change in one write. Labels and annotations record rotor's run and version.
//
// Every write is a PUT carrying the resourceVersion rotor read: a concurrent edit (someone else's
// key, another rotor) makes the API server answer 409, and rotor reads again and re-applies its
// change on top, so it never overwrites what it did not see. Keys rotor does not own are kept.
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { InvalidInputError, NotFoundError, PermanentError, UnavailableError } from '../../errors.js';
import {
  kubeConfigFor,
  kubeError,
  kubeStatus,
  parseSecretLocation,
  SECRET_KEY,
  type KubeCall,
  type SecretLocation,
} from '../../kubernetes.js';
import type { Logger } from '../../log.js';
import { trackSecret } from '../../redact.js';
import type { SecretValue } from '../../rotator/contract.js';
import type { SecretStore, Stage, StoredVersion, VersionInfo } from '../contract.js';
import { sameValue } from '../local/crypto.js';
import { holderOf, ordered, promoteStages, removeStage, STAGES, type StageTable } from '../local/stages.js';

/** The data key holding rotor's versions. */
export const VERSIONS_KEY = 'rotor-versions';
/** Prefix of the PREVIOUS value's keys, when the policy asks for them. */
export const PREVIOUS_PREFIX = 'previous-';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const VERSION_ANNOTATION = 'rotor.dev/version';
export const RUN_ANNOTATION = 'rotor.dev/run';
export const PENDING_ANNOTATION = 'rotor.dev/pending-version';
export const SECRET_ID_ANNOTATION = 'rotor.dev/location';

/** Versions without a stage kept for audit (and getVersion), newest first; staged ones are always kept. */
const KEEP_UNSTAGED = 5;
/** Tries of one change against concurrent writers before the step is retried later. */
const CONFLICT_TRIES = 6;

export interface KubernetesStoreOptions {
  log?: Logger;
}

/** One version as kept under VERSIONS_KEY. */
interface Entry {
  versionId: string;
  createdAt: string;
  stages: Stage[];
  value: SecretValue;
}

interface Loaded {
  /** The Secret as read, null when it does not exist. */
  secret: V1Secret | null;
  entries: Entry[];
}

/** Run ids prefix the version ids they stage (`<run id>-<attempt>`). */
export function runOfVersion(versionId: string): string {
  const dash = versionId.lastIndexOf('-');
  return dash > 0 && /^\d+$/.test(versionId.slice(dash + 1)) ? versionId.slice(0, dash) : versionId;
}

export function createKubernetesStore(_opts: KubernetesStoreOptions = {}): SecretStore {
  const apis = new Map<string, Promise<CoreV1Api>>();

  function api(l: SecretLocation): Promise<CoreV1Api> {
    const key = l.context ?? '';
    let p = apis.get(key);
    if (!p) {
      p = (async () => {
        const { CoreV1Api } = await import('@kubernetes/client-node');
        return (await kubeConfigFor({ context: l.context })).makeApiClient(CoreV1Api);
      })();
      apis.set(key, p);
      p.catch(() => apis.delete(key));
    }
    return p;
  }

  const call = (l: SecretLocation, verb: string): KubeCall => ({ verb, resource: 'secrets', namespace: l.namespace, name: l.name });

  async function load(l: SecretLocation): Promise<Loaded> {
    const core = await api(l);
    let secret: V1Secret;
    try {
      secret = await core.readNamespacedSecret({ name: l.name, namespace: l.namespace });
    } catch (err) {
      if (kubeStatus(err) === 404) return { secret: null, entries: [] };
      throw kubeError(err, call(l, 'get'));
    }
    return { secret, entries: decodeEntries(secret, l) };
  }

  /**
   * Applies `change` to the versions as read and writes the result with the resourceVersion read,
   * again from a fresh read on 409. `change` returns null when there is nothing to write.
   */
  async function mutate(l: SecretLocation, change: (entries: Entry[]) => Entry[] | null): Promise<void> {
    const core = await api(l);
    for (let attempt = 1; ; attempt++) {
      const { secret, entries } = await load(l);
      const next = change(entries);
      if (next === null) return;
      const body = render(l, secret, entries, next);
      try {
        if (secret) await core.replaceNamespacedSecret({ name: l.name, namespace: l.namespace, body });
        else await core.createNamespacedSecret({ namespace: l.namespace, body });
        return;
      } catch (err) {
        // 409: the Secret changed since it was read (Conflict), or someone created it (AlreadyExists).
        if (kubeStatus(err) !== 409) throw kubeError(err, call(l, secret ? 'update' : 'create'));
        if (attempt >= CONFLICT_TRIES) {
          throw new UnavailableError(
            `Secret ${l.namespace}/${l.name} changed under rotor ${attempt} times in a row (HTTP 409 Conflict); nothing was overwritten`,
            { hint: 'another writer keeps updating this Secret; the step is retried later' },
          );
        }
        await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 30));
      }
    }
  }

  return {
    backend: 'kubernetes',

    async get(location, stage) {
      if (!STAGES.includes(stage)) throw new InvalidInputError(`stage ${String(stage)} is not one of ${STAGES.join(', ')}`);
      const { entries } = await load(where(location));
      const e = entries.find((x) => x.stages.includes(stage));
      return e ? { versionId: e.versionId, value: e.value } : null;
    },

    async getVersion(location, versionId): Promise<StoredVersion | null> {
      const { entries } = await load(where(location));
      const e = entries.find((x) => x.versionId === versionId);
      return e ? { versionId: e.versionId, value: e.value } : null;
    },

    async putPending(location, versionId, value) {
      const l = where(location);
      checkVersionId(versionId);
      checkFields(value, l);
      await mutate(l, (entries) => {
        const same = entries.find((e) => e.versionId === versionId);
        if (same) {
          if (sameValue(same.value, value)) return null;
          throw new PermanentError(`version ${versionId} of Secret ${l.namespace}/${l.name} already exists with a different value`, {
            hint: "a version's value never changes; stage the new value under a new version id",
          });
        }
        const pending = entries.find((e) => e.stages.includes('PENDING'));
        if (pending) {
          throw new PermanentError(
            `Secret ${l.namespace}/${l.name} already has a PENDING version, ${pending.versionId}, from a rotation that did not finish, so version ${versionId} cannot be staged`,
            {
              hint: `if that rotation is abandoned, clear it with: rotor repair <secret id>  (it discards PENDING version ${pending.versionId})`,
            },
          );
        }
        return [...entries, { versionId, createdAt: new Date().toISOString(), stages: ['PENDING'], value: { ...value } }];
      });
    },

    async promote(location, versionId) {
      const l = where(location);
      await mutate(l, (entries) => {
        if (!entries.some((e) => e.versionId === versionId)) {
          throw new NotFoundError(`Secret ${l.namespace}/${l.name} has no staged version ${versionId}, so it cannot be promoted`, {
            hint: "a version exists once putPending (a run's create step) has staged it",
          });
        }
        return restage(entries, promoteStages(tableOf(entries), versionId));
      });
    },

    async discardPending(location, versionId) {
      await mutate(where(location), (entries) => restage(entries, removeStage(tableOf(entries), 'PENDING', versionId)));
    },

    async clearPrevious(location) {
      await mutate(where(location), (entries) => restage(entries, removeStage(tableOf(entries), 'PREVIOUS')));
    },

    async describe(location): Promise<VersionInfo[]> {
      const { entries } = await load(where(location));
      return newestFirst(entries).map((e) => ({ versionId: e.versionId, stages: ordered(e.stages), createdAt: new Date(e.createdAt) }));
    },
  };
}

function where(location: string): SecretLocation {
  const l = typeof location === 'string' ? parseSecretLocation(location) : null;
  if (!l) {
    throw new InvalidInputError(`${String(location)} is not a kubernetes store location`, {
      hint: 'a location is <namespace>/<secret name>, optionally with ?context=<kubeconfig context>',
    });
  }
  return l;
}

function checkVersionId(versionId: string): void {
  if (typeof versionId !== 'string' || !versionId || versionId.length > 128) {
    throw new InvalidInputError(`version id ${String(versionId)} must be 1 to 128 characters`);
  }
}

/** The value's fields become Secret keys: they must be valid keys, and not rotor's own. */
function checkFields(value: SecretValue, l: SecretLocation): void {
  for (const field of Object.keys(value)) {
    if (!SECRET_KEY.test(`${PREVIOUS_PREFIX}${field}`) || field === VERSIONS_KEY || field.startsWith(PREVIOUS_PREFIX)) {
      throw new PermanentError(`field ${field} of the value cannot be a key of Secret ${l.namespace}/${l.name}`, {
        hint: `Secret keys are letters, digits, -, _ and . (at most 243 characters here), and ${VERSIONS_KEY} and ${PREVIOUS_PREFIX}* are rotor's`,
      });
    }
  }
}

function tableOf(entries: readonly Entry[]): StageTable {
  return new Map(entries.map((e) => [e.versionId, e.stages]));
}

/** The entries with the stages of `table`; null when nothing changed (no write). */
function restage(entries: readonly Entry[], table: StageTable): Entry[] | null {
  let changed = false;
  const next = entries.map((e) => {
    const stages = ordered(table.get(e.versionId) ?? []);
    if (stages.join() !== ordered(e.stages).join()) changed = true;
    return { ...e, stages };
  });
  return changed ? next : null;
}

function newestFirst(entries: readonly Entry[]): Entry[] {
  return [...entries].sort((a, b) =>
    a.createdAt === b.createdAt ? (a.versionId < b.versionId ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1,
  );
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** rotor's versions from the Secret's data; a Secret rotor never wrote has none. */
function decodeEntries(secret: V1Secret, l: SecretLocation): Entry[] {
  const raw = secret.data?.[VERSIONS_KEY];
  if (raw === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const versions = (parsed as { versions?: unknown } | undefined)?.versions;
  if (!Array.isArray(versions)) {
    throw new PermanentError(`key ${VERSIONS_KEY} of Secret ${l.namespace}/${l.name} is not rotor's version list`, {
      hint: `the key is rotor's own; restore it from the Secret's history or delete the key to start over (the current value stays in the other keys)`,
    });
  }
  const entries = versions as Entry[];
  for (const e of entries) trackSecret(e.value);
  return entries;
}

/** The Secret to write: `next` versions, the keys applications read, rotor's labels, everything else kept. */
function render(l: SecretLocation, secret: V1Secret | null, before: readonly Entry[], next: Entry[]): V1Secret {
  const data: Record<string, string> = { ...(secret?.data ?? {}) };
  const current = (list: readonly Entry[]) => list.find((e) => e.stages.includes('CURRENT'));
  const previous = (list: readonly Entry[]) => list.find((e) => e.stages.includes('PREVIOUS'));
  // The keys rotor wrote last time go first, so a field the new value no longer has does not linger.
  for (const field of Object.keys(current(before)?.value ?? {})) delete data[field];
  for (const field of Object.keys(previous(before)?.value ?? {})) delete data[`${PREVIOUS_PREFIX}${field}`];
  const cur = current(next);
  for (const [field, v] of Object.entries(cur?.value ?? {})) data[field] = b64(String(v));
  const prev = previous(next);
  if (l.previous && prev) for (const [field, v] of Object.entries(prev.value)) data[`${PREVIOUS_PREFIX}${field}`] = b64(String(v));

  const stagedOrRecent = new Set([
    ...next.filter((e) => e.stages.length).map((e) => e.versionId),
    ...newestFirst(next.filter((e) => !e.stages.length))
      .slice(0, KEEP_UNSTAGED)
      .map((e) => e.versionId),
  ]);
  data[VERSIONS_KEY] = b64(JSON.stringify({ versions: next.filter((e) => stagedOrRecent.has(e.versionId)) }));

  const annotations: Record<string, string> = { ...(secret?.metadata?.annotations ?? {}) };
  delete annotations[VERSION_ANNOTATION];
  delete annotations[RUN_ANNOTATION];
  delete annotations[PENDING_ANNOTATION];
  if (cur) {
    annotations[VERSION_ANNOTATION] = cur.versionId;
    annotations[RUN_ANNOTATION] = runOfVersion(cur.versionId);
  }
  const pending = holderOf(tableOf(next), 'PENDING');
  if (pending) annotations[PENDING_ANNOTATION] = pending;

  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: secret?.type ?? 'Opaque',
    metadata: {
      ...(secret?.metadata ?? {}),
      name: l.name,
      namespace: l.namespace,
      labels: { ...(secret?.metadata?.labels ?? {}), [MANAGED_BY_LABEL]: 'rotor' },
      annotations,
    },
    data,
  };
}
