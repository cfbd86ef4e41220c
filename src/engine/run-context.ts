// Everything one pass over a run needs: its secret's policy, rotator, store and the values involved.
import type { ResolvedSecret } from '../policy/types.js';
import type { Rotator, RotatorContext, SecretValue } from '../rotator/contract.js';
import { PermanentError } from '../errors.js';
import { trackSecret } from '../redact.js';
import type { SecretStore } from '../store/contract.js';
import type { RunRow } from '../state/runs.js';
import type { EngineDeps } from './deps.js';

export interface RunContext {
  deps: EngineDeps;
  run: RunRow;
  secret: ResolvedSecret;
  rotator: Rotator<unknown>;
  rotatorCtx: RotatorContext<unknown>;
  store: SecretStore;
  location: string;
  /**
   * The secret had never rotated when the pass began (no last success): the revoke step also
   * revokes what the target had before rotor (invariant 7). Nothing else changes it during a pass:
   * a secret has one active run at a time.
   */
  neverRotated: boolean;
  /** Loads a version's value from the store; PermanentError when it is gone (never guess). */
  value(versionId: string): Promise<SecretValue>;
  /** A version's value the step has just read or stored itself: later steps of the pass need not read it again. */
  remember(versionId: string, value: SecretValue): void;
}

/**
 * Values a pass has read, by version id. A version's value never changes once stored (a retried
 * create stages a new version), so each step of one pass reads it from the store once. Lives as
 * long as the pass: the worker's memory is one of the places a value may be (invariant 4).
 */
export type ValueCache = Map<string, SecretValue>;

export function buildRunContext(
  deps: EngineDeps,
  run: RunRow,
  secret: ResolvedSecret,
  signal: AbortSignal,
  values: ValueCache,
  neverRotated: boolean,
): RunContext {
  const rotator = deps.rotator(secret.rotator.name);
  const store = deps.store(secret.store.backend);
  const location = secret.store.location;
  const log = deps.log.child({ secretId: run.secretId, runId: run.id });
  const rotatorCtx: RotatorContext<unknown> = {
    secretId: run.secretId,
    runId: run.id,
    params: rotator.paramsSchema.parse(secret.rotator.params),
    resolveRef: (ref) => deps.resolveRef(ref, secret),
    log,
    signal,
    drainMode: secret.drain.mode,
    trigger: run.trigger,
  };
  return {
    deps,
    run,
    secret,
    rotator,
    rotatorCtx,
    store,
    location,
    neverRotated,
    async value(versionId) {
      const known = values.get(versionId);
      if (known) return known;
      const v = await store.getVersion(location, versionId);
      if (!v) {
        throw new PermanentError(`version ${versionId} of ${run.secretId} is missing from the ${store.backend} store`, {
          hint: `inspect the store location ${location}; rotor will not guess a credential`,
        });
      }
      trackSecret(v.value);
      values.set(versionId, v.value);
      return v.value;
    },
    remember(versionId, value) {
      values.set(versionId, value);
    },
  };
}

/** When a step waiting on something outside (a consumer's confirmation, a drain) looks again. */
export function pollAt(rc: RunContext): Date {
  return new Date(rc.deps.now().getTime() + rc.deps.pollMs);
}
