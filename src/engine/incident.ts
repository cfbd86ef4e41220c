// Incidents: rotate a whole blast radius now. An incident selects secrets (by tag, owner, class,
// target, consumer or id list), orders them (dependsOn first, then at most perTarget runs in flight
// per target) and starts one emergency run per secret under one incident record. The driver that
// starts them is a BullMQ job on its own queue, processed by every rotor worker: the record and
// its secrets are in the state database, and each secret's run is linked to it in the transaction
// that creates the run, so a driver killed at any moment is replaced by one that goes on from
// what was recorded and never starts a secret twice (invariant 3 holds per secret as always).
import { randomUUID } from 'node:crypto';
import { DelayedError, type Job, type Worker } from 'bullmq';
import type pg from 'pg';
import { AlreadyInProgressError, InvalidInputError, NotFoundError } from '../errors.js';
import type { Logger } from '../log.js';
import type { IncidentJobData, QueueKit, RunJobData } from '../queue/backend.js';
import { INCIDENT_QUEUE, RUN_JOB_OPTIONS } from '../queue/names.js';
import {
  IncidentItemTakenError,
  createIncident,
  endIncident,
  getIncident,
  incidentItems,
  linkIncidentRun,
  skipIncidentSecrets,
  unfinishedIncidents,
  type IncidentItem,
  type IncidentRow,
  type IncidentSelection,
} from '../state/incidents.js';
import { RunSettledFeed } from '../state/run-events.js';
import { activeRun } from '../state/runs.js';
import type { SecretRow } from '../state/secrets.js';
import { freezeDecision } from './freeze.js';
import { enqueueRun, requestRotation } from './request.js';

/** Runs in flight on one target at once, unless the incident says otherwise. */
export const DEFAULT_PER_TARGET = 2;

export const EMPTY_SELECTION: IncidentSelection = { tags: [], owners: [], classes: [], targets: [], consumers: [], ids: [] };

/** True when the secret matches any part of the selection (a union: the blast radius is everything any part reaches). */
export function selects(sel: IncidentSelection, s: Pick<SecretRow, 'id' | 'targetKey' | 'policy'>): boolean {
  const p = s.policy;
  return (
    sel.ids.includes(s.id) ||
    sel.targets.includes(s.targetKey) ||
    (p.owner !== undefined && sel.owners.includes(p.owner)) ||
    (p.className !== undefined && sel.classes.includes(p.className)) ||
    p.tags.some((t) => sel.tags.includes(t)) ||
    p.consumers.some((c) => sel.consumers.includes(c.name))
  );
}

export function selectionIsEmpty(sel: IncidentSelection): boolean {
  return Object.values(sel).every((v) => v.length === 0);
}

export interface PlannedSecret {
  secretId: string;
  position: number;
  targetKey: string;
  /** Its dependencies inside the incident (a dependency outside the selection is not waited for). */
  dependsOn: string[];
  /** 0 for secrets that depend on none of the incident's, else one more than their deepest dependency. */
  level: number;
  consumers: string[];
  /** Its rotator: a `manual` secret cannot be started, the incident lists it for a person. */
  rotator: string;
  /**
   * When the freeze it is inside at planning time ends (ISO 8601); null when it is not frozen. Its
   * run starts only when the incident overrides freezes, else it is listed as `not started: …`.
   */
  frozenUntil: string | null;
}

export interface IncidentPlan {
  secrets: PlannedSecret[];
  /** Secrets per target, largest first. */
  targets: Array<{ targetKey: string; secrets: number }>;
  /** Consumer names touched, with how many of the secrets tell each. */
  consumers: Array<{ name: string; secrets: number }>;
  /** Ids asked for by --ids that are no active secret. */
  unknownIds: string[];
  perTarget: number;
  /** From recent run durations; null when no run has finished yet. */
  estimateMs: number | null;
  runMs: number | null;
}

/**
 * Selects and orders: a secret comes after every secret of the incident it depends on; within a
 * level, secrets are interleaved across targets so every target starts working at once. Each
 * secret says whether it is inside a freeze at `now`, decided as its run's start will decide it
 * (freeze.ts). Throws InvalidInputError on a dependency cycle (validate refuses those, so only a
 * state database synced from unvalidated policies can hold one).
 */
export function planIncident(
  all: readonly SecretRow[],
  sel: IncidentSelection,
  perTarget: number,
  runMs: number | null,
  now: Date = new Date(),
): IncidentPlan {
  const chosen = all.filter((s) => s.status === 'active' && selects(sel, s));
  const known = new Set(all.filter((s) => s.status === 'active').map((s) => s.id));
  const inside = new Map(chosen.map((s) => [s.id, s]));
  const deps = new Map(chosen.map((s) => [s.id, (s.policy.dependsOn ?? []).filter((d) => inside.has(d) && d !== s.id)]));
  const level = new Map<string, number>();
  const visiting = new Set<string>();
  const levelOf = (id: string): number => {
    const done = level.get(id);
    if (done !== undefined) return done;
    if (visiting.has(id))
      throw new InvalidInputError(`dependsOn forms a cycle through ${id}`, { hint: 'run rotor validate on the policies' });
    visiting.add(id);
    const l = Math.max(-1, ...deps.get(id)!.map(levelOf)) + 1;
    visiting.delete(id);
    level.set(id, l);
    return l;
  };
  for (const s of chosen) levelOf(s.id);
  // Within a level: round-robin over targets (each target's secrets by id).
  const ordered: SecretRow[] = [];
  const maxLevel = Math.max(-1, ...level.values());
  for (let l = 0; l <= maxLevel; l++) {
    const byTarget = new Map<string, SecretRow[]>();
    for (const s of chosen.filter((x) => level.get(x.id) === l).sort((a, b) => (a.id < b.id ? -1 : 1))) {
      byTarget.set(s.targetKey, [...(byTarget.get(s.targetKey) ?? []), s]);
    }
    const lists = [...byTarget.values()];
    for (let i = 0; lists.some((x) => i < x.length); i++) for (const x of lists) if (i < x.length) ordered.push(x[i]!);
  }
  const secrets = ordered.map((s, position) => ({
    secretId: s.id,
    position,
    targetKey: s.targetKey,
    dependsOn: deps.get(s.id)!,
    level: level.get(s.id)!,
    consumers: s.policy.consumers.map((c) => c.name),
    rotator: s.policy.rotator.name,
    frozenUntil: frozenUntil(s, now),
  }));
  const count = <T>(xs: T[]) => {
    const m = new Map<T, number>();
    for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
    return [...m].sort((a, b) => b[1] - a[1]);
  };
  return {
    secrets,
    targets: count(secrets.map((s) => s.targetKey)).map(([targetKey, n]) => ({ targetKey, secrets: n })),
    consumers: count(secrets.flatMap((s) => s.consumers)).map(([name, n]) => ({ name, secrets: n })),
    unknownIds: sel.ids.filter((id) => !known.has(id)),
    perTarget,
    runMs,
    estimateMs: runMs === null ? null : simulate(secrets, perTarget, runMs),
  };
}

function frozenUntil(s: SecretRow, now: Date): string | null {
  const d = freezeDecision(s.policy, now, { trigger: 'emergency' });
  return d.frozen ? d.until.toISOString() : null;
}

/** How many of the plan's secrets are inside a freeze now. */
export function frozenCount(plan: Pick<IncidentPlan, 'secrets'>): number {
  return plan.secrets.filter((s) => s.frozenUntil !== null).length;
}

/**
 * Wall time if every run took `runMs`: the canary first, then each secret starts when its
 * dependencies ended and its target has a free slot.
 */
function simulate(secrets: readonly PlannedSecret[], perTarget: number, runMs: number): number {
  const end = new Map<string, number>();
  const slots = new Map<string, number[]>();
  let last = 0;
  for (const [n, s] of secrets.entries()) {
    const free = slots.get(s.targetKey) ?? Array.from({ length: perTarget }, () => 0);
    slots.set(s.targetKey, free);
    const slot = free.indexOf(Math.min(...free));
    // The canary (the first) runs alone: the others start after it.
    const start = Math.max(free[slot]!, n === 0 ? 0 : runMs, ...s.dependsOn.map((d) => end.get(d) ?? 0));
    free[slot] = start + runMs;
    end.set(s.secretId, start + runMs);
    last = Math.max(last, start + runMs);
  }
  return last;
}

/** Where one secret of an incident stands. */
export type ItemPhase = 'pending' | 'rotating' | 'waiting-on-consumers' | 'done' | 'needs-attention' | 'not-started';

export function itemPhase(i: IncidentItem): ItemPhase {
  if (!i.runId) return i.skipped === null ? 'pending' : i.skipped.startsWith('aborted') ? 'not-started' : 'needs-attention';
  if (i.runState === 'done') return 'done';
  if (i.runState === 'needs-attention') return 'needs-attention';
  if (i.runState === 'waiting' && (i.runStep === 'distribute' || i.runStep === 'verify-consumers')) return 'waiting-on-consumers';
  return 'rotating';
}

export type IncidentCounts = Record<ItemPhase, number> & { total: number };

export function countPhases(items: readonly IncidentItem[]): IncidentCounts {
  const c: IncidentCounts = {
    total: items.length,
    pending: 0,
    rotating: 0,
    'waiting-on-consumers': 0,
    done: 0,
    'needs-attention': 0,
    'not-started': 0,
  };
  for (const i of items) c[itemPhase(i)]++;
  return c;
}

export interface StartIncidentRequest {
  actor: string;
  reason: string;
  selection: IncidentSelection;
  plan: IncidentPlan;
  /** Start its runs inside freeze windows (each audited as run.freeze-overridden). */
  overrideFreeze?: boolean;
}

/** Records the incident with its plan and enqueues its driver. */
export async function startIncident(pool: pg.Pool, kit: QueueKit, req: StartIncidentRequest): Promise<IncidentRow> {
  if (!req.plan.secrets.length) throw new InvalidInputError('the selection matches no active secret: nothing to rotate');
  const incident = await createIncident(pool, {
    id: randomUUID(),
    actor: req.actor,
    reason: req.reason,
    selection: req.selection,
    perTarget: req.plan.perTarget,
    overrideFreeze: req.overrideFreeze === true,
    items: req.plan.secrets,
  });
  await enqueueIncident(kit, incident.id);
  return incident;
}

/**
 * One driver job per incident: its id is the incident's, so enqueueing again is harmless, and a
 * driver job that failed every attempt (the state database away for its whole backoff) is retried
 * rather than left holding the id of an incident that would otherwise never resume (QueueHandle.add).
 */
export async function enqueueIncident(kit: QueueKit, incidentId: string): Promise<void> {
  await kit.queue(INCIDENT_QUEUE).add('incident', { incidentId }, { ...RUN_JOB_OPTIONS, jobId: `incident-${incidentId}` });
}

export interface DriverOptions {
  pool: pg.Pool;
  kit: QueueKit;
  log: Logger;
  /** How often the driver looks at its runs when no notification comes. @defaultValue 50, or 1000 while `settled` is live */
  pollMs?: number;
  /** Runs that stopped holding a worker, from any process: the driver looks at once. */
  settled?: RunSettledFeed;
  /** Who starts the runs, in the audit trail. */
  actor: string;
}

const ACTIVE = new Set(['queued', 'running', 'waiting']);

/**
 * Drives the incident until it ends: starts each secret whose dependencies are done while its
 * target has fewer than perTarget runs in flight, skips those whose dependency failed, and ends
 * the incident when nothing is in flight and nothing is left to start (or an abort was asked for).
 * Returns 'interrupted' when `signal` aborts first; the incident is then driven by the next worker.
 */
export async function driveIncident(opts: DriverOptions, incidentId: string, signal: AbortSignal): Promise<'ended' | 'interrupted'> {
  const waker = new Waker();
  // Only this incident's runs wake it (every run in the database notifies); '' is a reconnect.
  const unsubscribe = opts.settled?.subscribe((runId) => {
    if (runId === '' || waker.runs.has(runId)) waker.wake();
  });
  try {
    return await drive(opts, incidentId, signal, waker);
  } finally {
    unsubscribe?.();
  }
}

async function drive(opts: DriverOptions, incidentId: string, signal: AbortSignal, waker: Waker): Promise<'ended' | 'interrupted'> {
  const starts = new Starts();
  try {
    return await passes(opts, incidentId, signal, waker, starts);
  } finally {
    await starts.settled();
  }
}

/**
 * The starts a driver has under way: a pass does not wait for its starts (each creates a run and
 * enqueues its job) before the next pass may read, so a slot freed meanwhile is refilled at once.
 * Until a read that began after a start ended has seen it, the secret counts as in flight on its
 * target and is not started again: a pass never puts more than perTarget runs on a target.
 */
class Starts {
  private readonly pending = new Map<string, { targetKey: string; endedAt: number | null; done: Promise<void> }>();
  private failure: unknown = null;

  /**
   * `onStarted` gets the run's id; `onFailure` is told of an unexpected failure (the next pass
   * throws it). A start that found nothing to start (taken, skipped, a routine run rolling back)
   * wakes nobody: the next pass, woken by a run or the poll, looks again.
   */
  begin(item: IncidentItem, start: () => Promise<string | null>, onStarted: (runId: string) => void, onFailure: () => void): void {
    const entry = { targetKey: item.targetKey, endedAt: null as number | null, done: Promise.resolve() };
    const ended = () => (entry.endedAt = performance.now());
    entry.done = start().then(
      (runId) => {
        ended();
        if (runId) onStarted(runId);
      },
      (err: unknown) => {
        ended();
        this.failure ??= err;
        onFailure();
      },
    );
    this.pending.set(item.secretId, entry);
  }

  /** Forgets the starts that ended before `readAt` (the read shows them); throws a start's unexpected failure. */
  seen(readAt: number): void {
    if (this.failure !== null) throw this.failure;
    for (const [id, e] of this.pending) if (e.endedAt !== null && e.endedAt < readAt) this.pending.delete(id);
  }

  has(secretId: string): boolean {
    return this.pending.has(secretId);
  }

  /** Starts under way, by target: those `unseen` says the last read does not show. */
  perTarget(unseen: (secretId: string) => boolean): Map<string, number> {
    const m = new Map<string, number>();
    for (const [id, e] of this.pending) if (unseen(id)) m.set(e.targetKey, (m.get(e.targetKey) ?? 0) + 1);
    return m;
  }

  get size(): number {
    return this.pending.size;
  }

  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending.values()].map((e) => e.done));
  }
}

async function passes(
  opts: DriverOptions,
  incidentId: string,
  signal: AbortSignal,
  waker: Waker,
  starts: Starts,
): Promise<'ended' | 'interrupted'> {
  const { pool, kit, log } = opts;
  let first = true;
  for (;;) {
    if (signal.aborted) return 'interrupted';
    waker.passStarts();
    const readAt = performance.now();
    const incident = await getIncident(pool, incidentId);
    if (!incident || incident.state === 'done' || incident.state === 'aborted') return 'ended';
    let items = await incidentItems(pool, incidentId);
    starts.seen(readAt);
    for (const i of items) if (i.runId && i.runState && ACTIVE.has(i.runState)) waker.runs.add(i.runId);
    if (first) {
      // A driver killed between a run's creation and its enqueueing left it queued with no job;
      // the job id is the run's, so a run that has its job is not enqueued twice, and one whose
      // job failed every attempt gets it retried (QueueHandle.add).
      for (const i of items)
        if (i.runId && i.runState === 'queued') await enqueueRun(kit, { id: i.runId, trigger: 'emergency', notBefore: null });
      first = false;
    }
    const state = new Map(items.map((i) => [i.secretId, i]));
    const failed = (id: string) => {
      const d = state.get(id);
      return !!d && (d.skipped !== null || d.runState === 'needs-attention');
    };
    if (incident.state === 'aborting') {
      await skipIncidentSecrets(
        pool,
        incidentId,
        items.filter((i) => !i.runId && !i.skipped && !starts.has(i.secretId)).map((i) => i.secretId),
        'aborted before it was started',
      );
    } else {
      const blocked = items.filter((i) => !i.runId && !i.skipped && !starts.has(i.secretId) && i.dependsOn.some(failed));
      for (const i of blocked) {
        await skipIncidentSecrets(pool, incidentId, [i.secretId], `dependency ${i.dependsOn.find(failed)} did not rotate`);
      }
      // A start the read already shows (its run created, its job still being enqueued) counts once, as its item.
      const inFlight = starts.perTarget((id) => !state.get(id)?.runId);
      for (const i of items) if (i.runState && ACTIVE.has(i.runState)) inFlight.set(i.targetKey, (inFlight.get(i.targetKey) ?? 0) + 1);
      const canary = canaryHolds(items);
      for (const i of items) {
        if (i.runId || i.skipped || blocked.includes(i) || starts.has(i.secretId)) continue;
        if (canary && i !== canary) continue;
        if ((inFlight.get(i.targetKey) ?? 0) >= incident.perTarget) continue;
        if (!i.dependsOn.every((d) => state.get(d)?.runState === 'done')) continue;
        if (signal.aborted) return 'interrupted';
        inFlight.set(i.targetKey, (inFlight.get(i.targetKey) ?? 0) + 1);
        // Each start is its own transaction, linked to its secret only if not started yet; the
        // next pass reads while they go on.
        starts.begin(
          i,
          () => startOne(opts, incident, i.secretId),
          (runId) => waker.runs.add(runId),
          () => waker.wake(),
        );
      }
    }
    // Nothing being started and nothing in flight or pending as read: read again to end on what
    // was written since (skips, aborts).
    const busy = (list: readonly IncidentItem[]) =>
      starts.size > 0 || list.some((i) => (i.runState && ACTIVE.has(i.runState)) || (!i.runId && !i.skipped));
    if (!busy(items) && !busy((items = await incidentItems(pool, incidentId)))) {
      const ended = await endIncident(pool, incidentId, opts.actor, countPhases(items));
      if (ended) log.info({ incidentId, state: ended }, 'incident ended');
      return 'ended';
    }
    await waker.sleep(opts.pollMs ?? (opts.settled?.live ? 1_000 : 50), signal);
  }
}

/**
 * The canary: the plan's first secret rotates alone. The others start once its run no longer
 * holds a worker (it waits out grace, on its consumers or a retry's backoff, or it ended, whichever
 * way: a canary whose target is down must not hold up every other target), so the
 * first old credential is revoked within one unhurried run of the start, and the path (store,
 * rotator, consumers, queue) is proven once before hundreds of runs compete for the targets and
 * the workers. Returns the canary while it holds the others back, else null. Decided from the
 * recorded state alone, so a driver that takes over after a crash holds back exactly the same.
 */
function canaryHolds(items: readonly IncidentItem[]): IncidentItem | null {
  const canary = items[0]; // incidentItems reads them in plan order
  if (!canary || canary.skipped !== null) return null;
  if (!canary.runId || canary.runState === 'queued' || canary.runState === 'running') return canary;
  return null;
}

/** The least time between the end of a pass and the start of the next, however many runs settle. */
const MIN_PASS_GAP_MS = 10;

/**
 * The driver's sleep between passes: until the poll interval ends, `signal` aborts, or one of the
 * incident's runs settled. Then the next pass waits at least as long as the last one took (and
 * MIN_PASS_GAP_MS): a pass reads every item, so the driver is busy at most half the time however
 * large the incident, while a small one refills a target's freed slot within milliseconds. A
 * notification that came during a pass is kept, so the next sleep is the short one.
 */
class Waker {
  /** The incident's runs that were in flight when last read, or started since: those that wake it. */
  readonly runs = new Set<string>();
  private pending = false;
  private resume: (() => void) | null = null;
  private lastPass = 0;

  passStarts(): void {
    this.lastPass = Date.now();
  }

  wake(): void {
    if (this.resume) this.resume();
    else this.pending = true;
  }

  async sleep(ms: number, signal: AbortSignal): Promise<void> {
    const passEnded = Date.now();
    if (!this.pending) await this.wait(ms, signal, true);
    this.pending = false;
    const gap = passEnded + Math.max(MIN_PASS_GAP_MS, passEnded - this.lastPass) - Date.now();
    if (gap > 0) await this.wait(gap, signal, false);
  }

  private wait(ms: number, signal: AbortSignal, wakeable: boolean): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        if (wakeable) this.resume = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      if (wakeable) this.resume = done;
    });
  }
}

/** Starts the secret's emergency run, linked to the incident: its id, or null when it could not be started now. */
async function startOne(opts: DriverOptions, incident: IncidentRow, secretId: string): Promise<string | null> {
  const req = {
    secretId,
    trigger: 'emergency' as const,
    actor: incident.actor,
    reason: `incident ${incident.id}: ${incident.reason}`,
    incidentId: incident.id,
    overrideFreeze: incident.overrideFreeze,
  };
  try {
    const run = await requestRotation(opts.pool, opts.kit, req);
    // A routine run under way was escalated instead of created: it is this secret's rotation.
    if (run.escalated) await linkIncidentRun(opts.pool, incident.id, secretId, run.id).catch(ignoreTaken);
    return run.id;
  } catch (err) {
    if (err instanceof IncidentItemTakenError) return null;
    if (err instanceof InvalidInputError || err instanceof NotFoundError) {
      // A secret no run can be started for (a manual one, one inside a freeze without
      // --override-freeze, one retired since the plan): it needs a person, and must not hold up the
      // incident, nor fail its driver. It counts as needs-attention, with why.
      await skipIncidentSecrets(opts.pool, incident.id, [secretId], `not started: ${err.message}`);
      return null;
    }
    if (!(err instanceof AlreadyInProgressError)) throw err;
    // Another emergency (an operator's, or this driver's escalation before a crash) is rotating it: adopt it.
    const active = await activeRun(opts.pool, secretId);
    if (!active || active.trigger !== 'emergency') return null; // ended in between, or rolling back: a later pass starts it
    await linkIncidentRun(opts.pool, incident.id, secretId, active.id).catch(ignoreTaken);
    return active.id;
  }
}

function ignoreTaken(err: unknown): void {
  if (!(err instanceof IncidentItemTakenError)) throw err;
}

export interface IncidentWorkerOptions extends Omit<DriverOptions, 'actor'> {
  workerId: string;
  lockMs: number;
  stalledMs: number;
}

/**
 * The worker that drives incidents, and a job for every unfinished incident (one whose job was
 * lost with Redis, say, or failed every attempt): enqueued under the incident's job id, so a job
 * that exists is kept, and a failed one is retried.
 */
export async function startIncidentWorker(opts: IncidentWorkerOptions, shutdown: AbortSignal): Promise<Worker<RunJobData>> {
  // One listening connection for every incident this process drives, open while one is driven.
  const settled = new RunSettledFeed(opts.pool, opts.log);
  const worker = opts.kit.worker(
    INCIDENT_QUEUE,
    async (job: Job<RunJobData>, token?: string) => {
      const { incidentId } = job.data as unknown as IncidentJobData;
      const outcome = await driveIncident({ settled, ...opts, actor: opts.workerId }, incidentId, shutdown);
      if (outcome === 'interrupted') {
        // Shutting down: hand the incident to the next worker.
        await job.moveToDelayed(Date.now() + 1000, token);
        throw new DelayedError();
      }
    },
    { concurrency: 8, lockDuration: opts.lockMs, stalledInterval: opts.stalledMs, maxStalledCount: 1000 },
  );
  for (const id of await unfinishedIncidents(opts.pool)) await enqueueIncident(opts.kit, id);
  return worker;
}
