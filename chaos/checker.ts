// rotor's invariants, checked against the state database, the store, the target and the consumer
// clients: some every second while faults fly (continuous), all of them once every run has ended.
import type pg from 'pg';
import type { SecretStore } from '../src/store/contract.js';
import { trackSecret } from '../src/redact.js';
import { loginWith, type ClientFleet } from './clients.js';
import { auditChecks, evidenceFor, normalizeReason, revokeOrderChecks } from './record-checks.js';
import type { FleetSecret } from './fleet.js';

export type Invariant =
  | 'current-works'
  | 'no-revoke-in-use'
  | 'one-active-run'
  | 'bounded-attempts'
  | 'ends-with-reason'
  | 'audit-complete'
  | 'no-secret-leaks'
  | 'revoked-stays-revoked';

export const INVARIANTS: Record<Invariant, string> = {
  'current-works': "every secret's CURRENT credential works",
  'no-revoke-in-use': 'no old credential revoked while a consumer still uses it',
  'one-active-run': 'no secret ever has two active runs',
  'bounded-attempts': 'no run loops (failed attempts within the retry budget)',
  'ends-with-reason': 'every run ends done or needs-attention with a reason',
  'audit-complete': 'the audit trail accounts for every state change',
  'no-secret-leaks': 'no secret value in Redis, logs or plaintext tables',
  'revoked-stays-revoked': 'a revoked credential no longer logs in',
};

export interface Violation {
  invariant: Invariant;
  at: string;
  detail: string;
}

export interface Violations {
  list: Violation[];
  add(invariant: Invariant, detail: string): void;
}

export function violations(): Violations {
  const list: Violation[] = [];
  const seen = new Set<string>();
  return {
    list,
    add(invariant, detail) {
      const key = `${invariant}\0${detail}`;
      if (seen.has(key)) return;
      seen.add(key);
      list.push({ invariant, at: new Date().toISOString(), detail });
    },
  };
}

export interface CheckerDeps {
  pool: pg.Pool;
  store: SecretStore;
  fleet: readonly FleetSecret[];
  clients: ClientFleet;
  v: Violations;
  /** Attempts per step of every secret (retry.attempts). */
  attemptsPerStep: number;
}

/** Steps a run may take (8 forward, one failure path), each with its own attempt budget. */
export function attemptBound(attemptsPerStep: number): number {
  return 9 * attemptsPerStep;
}

/**
 * No loop: failed attempts stay within the retry budget, per step and per run. (runs.total_attempts
 * also counts passes that only waited, for grace samples and confirmation polls, so it grows with
 * time spent waiting and is reported, not bounded.)
 */
async function checkFailures(d: CheckerDeps): Promise<void> {
  const perStep = await d.pool.query<{ run_id: string; step: string; n: number }>(
    "select run_id, step, count(*)::int as n from steps where status = 'failed' group by 1, 2 having count(*) > $1",
    [d.attemptsPerStep],
  );
  for (const r of perStep.rows)
    d.v.add('bounded-attempts', `run ${r.run_id}: step ${r.step} failed ${r.n} times (budget ${d.attemptsPerStep})`);
  const perRun = await d.pool.query<{ run_id: string; n: number }>(
    "select run_id, count(*)::int as n from steps where status = 'failed' group by 1 having count(*) > $1",
    [attemptBound(d.attemptsPerStep)],
  );
  for (const r of perRun.rows)
    d.v.add('bounded-attempts', `run ${r.run_id}: ${r.n} failed attempts (bound ${attemptBound(d.attemptsPerStep)})`);
}

const ACTIVE = `('queued', 'running', 'waiting')`;

export interface ContinuousChecker {
  ticks: number;
  maxActiveRuns: number;
  currentLogins: { ok: number; conn: number; auth: number };
  stop(): Promise<void>;
}

export function startContinuousChecks(d: CheckerDeps): ContinuousChecker {
  const overlap = d.fleet.filter((f) => f.overlap && f.login).map((f) => f.secret.id);
  let cursor = 0;
  let running = true;
  const state: ContinuousChecker = {
    ticks: 0,
    maxActiveRuns: 0,
    currentLogins: { ok: 0, conn: 0, auth: 0 },
    stop: async () => {
      running = false;
      await loop;
    },
  };
  const tick = async () => {
    const dual = await d.pool.query<{ secret_id: string; n: number }>(
      `select secret_id, count(*)::int as n from runs where state in ${ACTIVE} group by secret_id having count(*) > 1`,
    );
    for (const row of dual.rows) d.v.add('one-active-run', `${row.secret_id} has ${row.n} active runs at once`);
    const active = await d.pool.query<{ n: number }>(`select count(*)::int as n from runs where state in ${ACTIVE}`);
    state.maxActiveRuns = Math.max(state.maxActiveRuns, active.rows[0]!.n);
    await checkFailures(d);
    const mute = await d.pool.query<{ id: string; secret_id: string }>(
      "select id, secret_id from runs where state = 'needs-attention' and coalesce(error, '') = ''",
    );
    for (const r of mute.rows) d.v.add('ends-with-reason', `run ${r.id} of ${r.secret_id} needs attention without a reason`);
    // A few overlap secrets per tick, in turn: CURRENT must log in whenever someone reads it.
    for (let i = 0; i < 4 && overlap.length; i++) {
      const id = overlap[cursor++ % overlap.length]!;
      await checkCurrent(d, id, state.currentLogins, true);
    }
    state.ticks++;
  };
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      // A stalled state database makes a tick hang: the next one waits for it, nothing piles up.
      await tick().catch(() => undefined);
      await new Promise((r) => setTimeout(r, Math.max(0, 1_000 - (Date.now() - started))));
    }
  })();
  return state;
}

/** Logs in with CURRENT; an auth failure counts only when CURRENT is still that version afterwards. */
async function checkCurrent(
  d: CheckerDeps,
  id: string,
  counts: { ok: number; conn: number; auth: number },
  racy: boolean,
  login = true,
): Promise<void> {
  const current = await d.store.get(id, 'CURRENT');
  if (!current) {
    if (!racy) d.v.add('current-works', `${id}: no CURRENT version in the store`);
    return;
  }
  trackSecret(current.value);
  if (!login) {
    // A random secret's target is the store: CURRENT works when it holds a value.
    if (typeof current.value.value === 'string' && current.value.value.length >= 16) counts.ok++;
    else d.v.add('current-works', `${id}: CURRENT version ${current.versionId} holds no value`);
    return;
  }
  const result = await loginWith(current.value);
  counts[result.kind]++;
  if (result.kind !== 'auth') return;
  if (racy) {
    // A rollback puts the old version back and then revokes the new one: re-read before blaming.
    const again = await d.store.get(id, 'CURRENT');
    if (again?.versionId !== current.versionId) return;
  }
  d.v.add('current-works', `${id}: CURRENT version ${current.versionId} refused by the target (SQLSTATE ${result.code})`);
}

export interface FinalFigures {
  runs: {
    total: number;
    done: number;
    needsAttention: number;
    active: number;
    byOutcome: Record<string, number>;
    byTrigger: Record<string, number>;
  };
  needsAttentionReasons: Array<{ reason: string; count: number; example: string }>;
  maxTotalAttempts: number;
  maxStepAttempt: number;
  /** Most failed step attempts in one run. */
  maxFailedPerRun: number;
  auditRows: number;
  finalCurrentLogins: { ok: number; conn: number; auth: number };
  previousStillWorking: number;
  /** For runs named in violations: the run row, its steps, consumer rows and audit rows. */
  evidence: Array<Record<string, unknown>>;
}

/** Every check, once all runs have ended (or the drain gave up). */
export async function finalChecks(d: CheckerDeps): Promise<FinalFigures> {
  const { pool, v } = d;
  const runs = await pool.query<{ state: string; outcome: string | null; trigger: string; n: number }>(
    'select state, outcome, trigger, count(*)::int as n from runs group by 1, 2, 3',
  );
  const figures: FinalFigures = {
    runs: { total: 0, done: 0, needsAttention: 0, active: 0, byOutcome: {}, byTrigger: {} },
    needsAttentionReasons: [],
    maxTotalAttempts: 0,
    maxStepAttempt: 0,
    maxFailedPerRun: 0,
    auditRows: 0,
    finalCurrentLogins: { ok: 0, conn: 0, auth: 0 },
    previousStillWorking: 0,
    evidence: [],
  };
  for (const r of runs.rows) {
    figures.runs.total += r.n;
    if (r.state === 'done') figures.runs.done += r.n;
    else if (r.state === 'needs-attention') figures.runs.needsAttention += r.n;
    else figures.runs.active += r.n;
    const outcome = r.outcome ?? r.state;
    figures.runs.byOutcome[outcome] = (figures.runs.byOutcome[outcome] ?? 0) + r.n;
    figures.runs.byTrigger[r.trigger] = (figures.runs.byTrigger[r.trigger] ?? 0) + r.n;
  }

  // Every run ended, and a run that needs attention says why.
  const open = await pool.query<{ id: string; secret_id: string; state: string; step: string; updated_at: Date }>(
    `select id, secret_id, state, step, updated_at from runs where state in ${ACTIVE} order by created_at`,
  );
  for (const r of open.rows)
    v.add('ends-with-reason', `run ${r.id} of ${r.secret_id} still ${r.state} at ${r.step} (last touched ${r.updated_at.toISOString()})`);
  const na = await pool.query<{ id: string; error: string | null }>("select id, error from runs where state = 'needs-attention'");
  const buckets = new Map<string, { count: number; example: string }>();
  for (const r of na.rows) {
    if (!r.error) {
      v.add('ends-with-reason', `run ${r.id} needs attention without a reason`);
      continue;
    }
    const key = normalizeReason(r.error);
    const b = buckets.get(key) ?? { count: 0, example: `${r.id}: ${r.error.slice(0, 400)}` };
    b.count++;
    buckets.set(key, b);
  }
  figures.needsAttentionReasons = [...buckets].map(([reason, b]) => ({ reason, ...b })).sort((a, b) => b.count - a.count);

  // One active run per secret, over the whole history: each run starts after the previous ended.
  // finished_at is the worker's clock and created_at the start of the inserting transaction, which
  // may have waited on the unique index for the previous run's last update: a second of slack.
  const overlapping = await pool.query<{ a: string; b: string; secret_id: string }>(
    `select prev.id as a, r.id as b, r.secret_id from runs r
     join lateral (select p.id, p.finished_at from runs p where p.secret_id = r.secret_id and p.created_at < r.created_at
                   order by p.created_at desc limit 1) prev on true
     where prev.finished_at is null or r.created_at < prev.finished_at - interval '1 second'`,
  );
  for (const r of overlapping.rows) v.add('one-active-run', `${r.secret_id}: run ${r.b} was created while run ${r.a} was still active`);

  // Bounded attempts.
  await checkFailures(d);
  const attempts = await pool.query<{ total: number; step: number; failed: number }>(
    `select coalesce(max(total_attempts), 0)::int as total, (select coalesce(max(attempt), 0)::int from steps) as step,
       (select coalesce(max(n), 0)::int from (select count(*) as n from steps where status = 'failed' group by run_id) f) as failed from runs`,
  );
  figures.maxTotalAttempts = attempts.rows[0]!.total;
  figures.maxStepAttempt = attempts.rows[0]!.step;
  figures.maxFailedPerRun = attempts.rows[0]!.failed;

  await auditChecks(d, figures);
  await revokeOrderChecks(d);

  // CURRENT works for every secret; and where the last run rotated alternating users, PREVIOUS
  // (the credential it revoked) is refused.
  for (const f of d.fleet) {
    let tries = 0;
    const before = figures.finalCurrentLogins.auth;
    for (;;) {
      const counts = { ok: 0, conn: 0, auth: 0 };
      await checkCurrent(d, f.secret.id, counts, false, f.login);
      if (counts.conn && ++tries < 5) {
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      figures.finalCurrentLogins.ok += counts.ok;
      figures.finalCurrentLogins.conn += counts.conn;
      figures.finalCurrentLogins.auth += counts.auth;
      break;
    }
    if (figures.finalCurrentLogins.auth > before) continue;
    if (!f.overlap) continue;
    if (!f.login) {
      // The store is the target: a rotated random secret keeps no PREVIOUS readable after revoke.
      const last = await pool.query<{ outcome: string | null }>(
        'select outcome from runs where secret_id = $1 order by created_at desc limit 1',
        [f.secret.id],
      );
      const previous = last.rows[0]?.outcome === 'rotated' ? await d.store.get(f.secret.id, 'PREVIOUS') : null;
      if (previous) {
        figures.previousStillWorking++;
        v.add('revoked-stays-revoked', `${f.secret.id}: version ${previous.versionId} is still PREVIOUS after its run revoked it`);
      }
      continue;
    }
    if (!f.login) continue;
    const last = await pool.query<{ state: string; outcome: string | null; old_version: string | null }>(
      'select state, outcome, old_version from runs where secret_id = $1 order by created_at desc limit 1',
      [f.secret.id],
    );
    const run = last.rows[0];
    if (run?.outcome !== 'rotated' || !run.old_version) continue;
    const old = await d.store.getVersion(f.secret.id, run.old_version);
    if (!old) continue;
    trackSecret(old.value);
    const result = await loginWith(old.value);
    if (result.kind === 'ok') {
      figures.previousStillWorking++;
      v.add('revoked-stays-revoked', `${f.secret.id}: version ${run.old_version}, revoked by its last run, still logs in`);
    }
  }
  figures.evidence = await evidenceFor(pool, v.list);
  return figures;
}
