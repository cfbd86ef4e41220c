// Telling consumers about a new version, wave by wave, and collecting their confirmations.
import { CannotConfirmError, type ConsumerContext, type ConsumerNotice } from '../consumers/contract.js';
import { PermanentError } from '../errors.js';
import { formatDuration } from '../policy/duration.js';
import type { ResolvedConsumer, ResolvedSecret } from '../policy/types.js';
import { redactError } from '../redact.js';
import type { SecretValue } from '../rotator/contract.js';
import {
  markConfirmed,
  markNotified,
  recordConsumerError,
  waveConsumers,
  type ConsumerMark,
  type ConsumerPhase,
} from '../state/consumers.js';
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

function rowsFor(rc: RunContext, wave: Wave, phase: ConsumerPhase): Promise<Map<string, ConsumerMark>> {
  return waveConsumers(
    rc.deps.pool,
    rc.run.id,
    wave.number,
    wave.consumers.map((c) => c.name),
    phase,
  );
}

/**
 * Notifies every consumer of the wave not yet notified of this notice in this run: the new version
 * (distribute), or the old one again (phase `rollback`). A notify repeated after a crash between it
 * and its mark is harmless: notify is idempotent by contract. Returns the wave's marks as they now
 * are, for the confirmations that follow (askWave) without reading them again.
 */
export async function notifyWave(
  rc: RunContext,
  wave: Wave,
  notice: ConsumerNotice,
  value: SecretValue,
  phase: ConsumerPhase = 'new',
): Promise<Map<string, ConsumerMark>> {
  const rows = await rowsFor(rc, wave, phase);
  for (const c of wave.consumers) {
    const row = rows.get(c.name);
    if (row?.notifiedAt) continue;
    const impl = rc.deps.consumer(c.type);
    await impl.notify(consumerCtx(rc, c), notice, impl.carriesValue ? value : undefined);
    const notifiedAt = await markNotified(rc.deps.pool, rc.run.id, c.name, phase);
    rows.set(c.name, { consumer: c.name, notifiedAt, confirmedAt: row?.confirmedAt ?? null });
  }
  return rows;
}

/**
 * When every consumer of `waves` that caches the value (`cacheTtl`) has read the store again since
 * it was told in `phase`: its notify time plus its cacheTtl, the latest of them. Null when none
 * caches. A rollback waits for it before revoking the new credential, as grace does on the way
 * forward: such a consumer may hold the new value until its cache expires, whatever it confirms.
 */
export async function cachesClearAt(rc: RunContext, waves: readonly Wave[], phase: ConsumerPhase): Promise<Date | null> {
  let latest: number | null = null;
  for (const wave of waves) {
    const cached = wave.consumers.filter((c) => c.cacheTtlMs !== undefined);
    if (!cached.length) continue;
    const rows = await rowsFor(rc, wave, phase);
    for (const c of cached) {
      const told = rows.get(c.name)?.notifiedAt ?? rc.deps.now();
      latest = Math.max(latest ?? 0, told.getTime() + c.cacheTtlMs!);
    }
  }
  return latest === null ? null : new Date(latest);
}

/** A consumer given up on: it said it can never confirm (CannotConfirmError), or its confirmTimeout passed. */
export interface Refusal {
  consumer: ResolvedConsumer;
  /** Why, never a value: the consumer's redacted error, or the version it reports instead. */
  why: string;
  /** True for a CannotConfirmError; false when the bound passed. */
  cannot: boolean;
  /** The consumer's own hint, when its CannotConfirmError carried one. */
  hint: string | undefined;
}

/** A pass over one wave: who has not confirmed yet, and the consumer given up on, if any. */
export interface WaveAnswer {
  /** Not confirmed yet, and still within their confirmTimeout: worth waiting for. */
  unconfirmed: string[];
  /** The first consumer an unforced run gives up on (it said it never will, or its time is up). */
  refusal: Refusal | null;
  /** A forced run's consumers it would have given up on: it goes on without them. */
  forcedPast: string[];
}

/**
 * Asks each consumer of the wave not yet confirmed which version it uses, against `notice`'s version.
 * Each is bounded by its own confirmTimeout from when it was notified in this phase. A consumer that
 * says it never will (CannotConfirmError), or whose time is up, is a refusal; under `force` it is
 * not: the run goes on without it (`forcedPast`) and asks the others.
 */
export async function askWave(
  rc: RunContext,
  wave: Wave,
  notice: ConsumerNotice,
  phase: ConsumerPhase = 'new',
  marks?: Map<string, ConsumerMark>,
): Promise<WaveAnswer> {
  const rows = marks ?? (await rowsFor(rc, wave, phase));
  const unconfirmed: string[] = [];
  const forcedPast: string[] = [];
  let value: Promise<SecretValue> | undefined;
  for (const c of wave.consumers) {
    const row = rows.get(c.name);
    if (row?.confirmedAt) continue;
    let version: string | null = null;
    let error: string | null = null;
    let refusal: Refusal | null = null;
    try {
      const impl = rc.deps.consumer(c.type);
      // Only types that carry the value get it, read from the store once per pass.
      if (impl.carriesValue) value ??= rc.value(notice.versionId);
      version = await impl.confirm(consumerCtx(rc, c), notice, impl.carriesValue ? await value : undefined);
    } catch (err) {
      const redacted = redactError(err as Error) as Error & { hint?: string };
      error = redacted.message;
      // A consumer that says it can never confirm (a rollout that failed) is not waited for.
      if (err instanceof CannotConfirmError) refusal = { consumer: c, why: error, cannot: true, hint: redacted.hint };
    }
    if (version === notice.versionId) {
      await markConfirmed(rc.deps.pool, rc.run.id, c.name, version, phase);
      continue;
    }
    await recordConsumerError(rc.deps.pool, rc.run.id, c.name, error ?? `reports version ${version ?? 'unknown'}`, phase);
    const since = row?.notifiedAt ?? rc.deps.now();
    if (!refusal && rc.deps.now().getTime() - since.getTime() > c.confirmTimeoutMs) {
      refusal = { consumer: c, why: error ?? `it reports ${version ?? 'no version'}`, cannot: false, hint: undefined };
    }
    if (refusal && !rc.run.force) return { unconfirmed, refusal, forcedPast };
    (refusal ? forcedPast : unconfirmed).push(c.name);
  }
  return { unconfirmed, refusal: null, forcedPast };
}

/** The consumer's bound as a message says it, in the policy's words: `within 15m (its confirmTimeout)`. */
export function withinTimeout(c: ResolvedConsumer): string {
  return `within ${formatDuration(c.confirmTimeoutMs)} (its confirmTimeout)`;
}

/**
 * Asks each unconfirmed consumer of the wave whether it uses the run's new version. Returns those
 * still worth waiting for and (forced runs) those it goes on without; throws (leading to rollback)
 * once one said it never will or exceeded its timeout, unless the run is forced.
 */
export async function confirmWave(
  rc: RunContext,
  wave: Wave,
  marks?: Map<string, ConsumerMark>,
): Promise<Pick<WaveAnswer, 'unconfirmed' | 'forcedPast'>> {
  const notice = noticeFor(rc, rc.run.newVersion!, revokeNoticeAt(rc));
  const { unconfirmed, refusal, forcedPast } = await askWave(rc, wave, notice, 'new', marks);
  if (!refusal) return { unconfirmed, forcedPast };
  const { consumer: c, why } = refusal;
  if (refusal.cannot) {
    throw new PermanentError(`consumer ${c.name} (${c.type}) cannot confirm version ${notice.versionId}: ${why}`, {
      hint: refusal.hint ?? `fix ${c.name}; the run rolled back and the old credential stays current`,
    });
  }
  throw new PermanentError(`consumer ${c.name} (${c.type}) did not confirm version ${notice.versionId} ${withinTimeout(c)}: ${why}`, {
    hint: `check that ${c.name} reloads its credential; the run rolled back and the old credential stays current`,
  });
}
