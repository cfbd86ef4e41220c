// Telling consumers about a new version, wave by wave, and collecting their confirmations.
import type { ConsumerContext, ConsumerNotice } from '../consumers/contract.js';
import { PermanentError } from '../errors.js';
import type { ResolvedConsumer, ResolvedSecret } from '../policy/types.js';
import { redactError } from '../redact.js';
import type { SecretValue } from '../rotator/contract.js';
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

interface ConsumerRow {
  consumer: string;
  notifiedAt: Date | null;
  confirmedAt: Date | null;
}

async function rowsFor(rc: RunContext, wave: Wave): Promise<Map<string, ConsumerRow>> {
  await rc.deps.pool.query(
    `insert into run_consumers (run_id, consumer, wave) select $1, c, $3 from unnest($2::text[]) as c
     on conflict do nothing`,
    [rc.run.id, wave.consumers.map((c) => c.name), wave.number],
  );
  const r = await rc.deps.pool.query<ConsumerRow>(
    `select consumer, notified_at as "notifiedAt", confirmed_at as "confirmedAt" from run_consumers
     where run_id = $1 and wave = $2`,
    [rc.run.id, wave.number],
  );
  return new Map(r.rows.map((row) => [row.consumer, row]));
}

/** Notifies every consumer of the wave not yet notified in this run. */
export async function notifyWave(rc: RunContext, wave: Wave, value: SecretValue, revokeAfter: Date): Promise<void> {
  const rows = await rowsFor(rc, wave);
  const notice = noticeFor(rc, rc.run.newVersion!, revokeAfter);
  for (const c of wave.consumers) {
    if (rows.get(c.name)?.notifiedAt) continue;
    const impl = rc.deps.consumer(c.type);
    await impl.notify(consumerCtx(rc, c), notice, impl.carriesValue ? value : undefined);
    await rc.deps.pool.query('update run_consumers set notified_at = now() where run_id = $1 and consumer = $2', [
      rc.run.id,
      c.name,
    ]);
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
    }
    if (version === notice.versionId) {
      await rc.deps.pool.query(
        `update run_consumers set confirmed_at = now(), confirmed_version = $3, last_error = null
         where run_id = $1 and consumer = $2`,
        [rc.run.id, c.name, version],
      );
      continue;
    }
    await rc.deps.pool.query('update run_consumers set last_error = $3 where run_id = $1 and consumer = $2', [
      rc.run.id,
      c.name,
      error ?? `reports version ${version ?? 'unknown'}`,
    ]);
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
