// Telling consumers about a new version, wave by wave, and collecting their confirmations.
import { CannotConfirmError, type ConsumerContext, type ConsumerNotice } from '../consumers/contract.js';
import { PermanentError } from '../errors.js';
import type { ResolvedConsumer, ResolvedSecret } from '../policy/types.js';
import { redactError } from '../redact.js';
import type { SecretValue } from '../rotator/contract.js';
import { markConfirmed, markNotified, recordConsumerError, waveConsumers, type ConsumerMark } from '../state/consumers.js';
import type { RunContext } from './run-context.js';

export interface Wave {
  number: number;
  consumers: ResolvedConsumer[];
}

export function wavesOf(secret: ResolvedSecret): Wave[] {
  const byNumber = new Map<number, ResolvedConsumer[]>();
  for (const c of secret.consumers) byNumber.set(c.wave, [...(byNumber.get(c.wave) ?? []), c]);
  return [...byNumber.entries()].sort(([a], [b]) => a - b).map(([number, consumers]) => ({ number, consumers }));
}

/** The earliest moment the old credential can be revoked: what consumers are told. */
export function revokeNoticeAt(rc: RunContext): Date {
  return rc.run.graceUntil ?? rc.deps.now();
}

export function noticeFor(rc: RunContext, versionId: string, revokeAfter: Date): ConsumerNotice {
  return {
    secretId: rc.run.secretId,
    runId: rc.run.id,
    versionId,
    store: { backend: rc.store.backend, location: rc.location },
    revokeAfter,
  };
}

export function consumerCtx(rc: RunContext, c: ResolvedConsumer): ConsumerContext<unknown> {
  return {
    params: c.params,
    resolveRef: (ref) => rc.deps.resolveRef(ref, rc.secret),
    log: rc.rotatorCtx.log.child({ consumer: c.name }),
    signal: rc.rotatorCtx.signal,
  };
}

function rowsFor(rc: RunContext, wave: Wave): Promise<Map<string, ConsumerMark>> {
  return waveConsumers(
    rc.deps.pool,
    rc.run.id,
    wave.number,
    wave.consumers.map((c) => c.name),
  );
}

/** Notifies every consumer of the wave not yet notified in this run. */
export async function notifyWave(rc: RunContext, wave: Wave, value: SecretValue, revokeAfter: Date): Promise<void> {
  const rows = await rowsFor(rc, wave);
  const notice = noticeFor(rc, rc.run.newVersion!, revokeAfter);
  for (const c of wave.consumers) {
    if (rows.get(c.name)?.notifiedAt) continue;
    const impl = rc.deps.consumer(c.type);
    await impl.notify(consumerCtx(rc, c), notice, impl.carriesValue ? value : undefined);
    await markNotified(rc.deps.pool, rc.run.id, c.name);
  }
}

/**
 * Asks each unconfirmed consumer of the wave which version it uses. Returns the names still
 * unconfirmed; throws (leading to rollback) once one has exceeded its confirmation timeout.
 */
export async function confirmWave(rc: RunContext, wave: Wave): Promise<string[]> {
  const rows = await rowsFor(rc, wave);
  const notice = noticeFor(rc, rc.run.newVersion!, revokeNoticeAt(rc));
  const unconfirmed: string[] = [];
  let value: Promise<SecretValue> | undefined;
  for (const c of wave.consumers) {
    const row = rows.get(c.name);
    if (row?.confirmedAt) continue;
    let version: string | null = null;
    let error: string | null = null;
    try {
      const impl = rc.deps.consumer(c.type);
      // Only types that carry the value get it, read from the store once per pass.
      if (impl.carriesValue) value ??= rc.value(notice.versionId);
      version = await impl.confirm(consumerCtx(rc, c), notice, impl.carriesValue ? await value : undefined);
    } catch (err) {
      error = redactError(err as Error).message;
      // A consumer that says it can never confirm (a rollout that failed) is not waited for.
      if (err instanceof CannotConfirmError && !rc.run.force) {
        await recordConsumerError(rc.deps.pool, rc.run.id, c.name, error);
        throw new PermanentError(`consumer ${c.name} (${c.type}) cannot confirm version ${notice.versionId}: ${error}`, {
          hint: err.hint ?? `fix ${c.name}; the run rolled back and the old credential stays current`,
        });
      }
    }
    if (version === notice.versionId) {
      await markConfirmed(rc.deps.pool, rc.run.id, c.name, version);
      continue;
    }
    await recordConsumerError(rc.deps.pool, rc.run.id, c.name, error ?? `reports version ${version ?? 'unknown'}`);
    const since = row?.notifiedAt ?? rc.deps.now();
    if (rc.deps.now().getTime() - since.getTime() > c.confirmTimeoutMs && !rc.run.force) {
      throw new PermanentError(
        `consumer ${c.name} (${c.type}) did not confirm version ${notice.versionId} within ${Math.round(c.confirmTimeoutMs / 1000)}s` +
          (error ? `: ${error}` : `; it reports ${version ?? 'no version'}`),
        { hint: `check that ${c.name} reloads its credential; the run rolled back and the old credential stays current` },
      );
    }
    unconfirmed.push(c.name);
  }
  return unconfirmed;
}
