// /metrics through prom-client: runs by result, run durations, time since each secret's last
// success, secrets per status and BullMQ's job counts, all read from the state database and the
// queues when Prometheus scrapes (so every process reports the same numbers), plus the refused
// dashboard tokens this process has seen.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { statusCounts, STATUSES, type StatusRules } from '../state/status.js';
import type { QueueKit } from '../queue/backend.js';
import { EMERGENCY_QUEUE, RUNS_QUEUE, TICK_QUEUE } from '../queue/names.js';
import type { Queryable } from '../state/db.js';
import { lastSuccesses, runDurationBuckets, runResultCounts } from '../state/metrics.js';

/** Seconds; rotations span a verify (seconds) to a long grace window (hours). */
const DURATION_BUCKETS = [1, 5, 15, 60, 300, 900, 3600, 14_400, 43_200, 86_400];
const QUEUES = [RUNS_QUEUE, EMERGENCY_QUEUE, TICK_QUEUE] as const;

export type TokenRefusalReason = 'missing' | 'wrong' | 'limited';

export interface RotorMetrics {
  registry: Registry;
  /** Refused dashboard tokens by token (read, operator) and reason; counted in this process. */
  tokenRefusals: Counter<'token' | 'reason'>;
  /** Dashboard connections and requests refused by a limit (src/dashboard/limits.ts), by limit. */
  dashboardRefusals: Counter<'limit'>;
  /** The Content-Type of `render()`'s text. */
  contentType: string;
  render(): Promise<string>;
}

export interface MetricsOptions {
  db: Queryable;
  /** The queues whose job counts are exported; none when absent. */
  kit?: QueueKit | undefined;
  rules(): StatusRules;
}

type Snapshot = Awaited<ReturnType<typeof load>>;

async function load(opts: MetricsOptions) {
  const rules = opts.rules();
  const [results, durations, successes, counts, queues] = await Promise.all([
    runResultCounts(opts.db),
    runDurationBuckets(opts.db, DURATION_BUCKETS),
    lastSuccesses(opts.db, rules.now),
    statusCounts(opts.db, rules),
    Promise.all(QUEUES.map((name) => queueCounts(opts.kit, name))),
  ]);
  return { now: rules.now, results, durations, successes, counts, queues };
}

async function queueCounts(kit: QueueKit | undefined, name: string) {
  if (!kit) return undefined;
  const q = kit.queue(name).raw;
  // A queue that cannot answer leaves its samples out rather than failing the whole scrape.
  try {
    const [counts, completed, failed] = await Promise.all([q.getJobCounts(), q.getMetrics('completed'), q.getMetrics('failed')]);
    return { name, counts, completed: completed.meta.count, failed: failed.meta.count };
  } catch {
    return undefined;
  }
}

/**
 * Ended-run durations come bucketed from SQL, so the histogram's samples are set, not observed:
 * prom-client has no public setter for bucket counts, so this histogram builds its exposition
 * itself (the registry reads `getForPromString` when a metric has one, `get` otherwise).
 */
class RunDurationHistogram extends Histogram<'trigger'> {
  private static readonly NAME = 'rotor_run_duration_seconds';
  private static readonly HELP = 'Duration of ended runs, from request to end (grace included).';

  constructor(
    registry: Registry,
    private readonly snapshot: () => Promise<Snapshot>,
  ) {
    super({
      name: RunDurationHistogram.NAME,
      help: RunDurationHistogram.HELP,
      labelNames: ['trigger'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
  }

  override async get(): ReturnType<Histogram<'trigger'>['get']> {
    const name = RunDurationHistogram.NAME;
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    for (const d of (await this.snapshot()).durations) {
      DURATION_BUCKETS.forEach((le, i) =>
        values.push({ metricName: `${name}_bucket`, labels: { trigger: d.trigger, le }, value: d.buckets[i] ?? 0 }),
      );
      values.push({ metricName: `${name}_bucket`, labels: { trigger: d.trigger, le: '+Inf' }, value: d.count });
      values.push({ metricName: `${name}_sum`, labels: { trigger: d.trigger }, value: d.sumSeconds });
      values.push({ metricName: `${name}_count`, labels: { trigger: d.trigger }, value: d.count });
    }
    const metric = { name, help: RunDurationHistogram.HELP, type: 'histogram', aggregator: 'sum', values };
    return metric as unknown as Awaited<ReturnType<Histogram<'trigger'>['get']>>;
  }

  getForPromString(): ReturnType<Histogram<'trigger'>['get']> {
    return this.get();
  }
}

export function createMetrics(opts: MetricsOptions): RotorMetrics {
  const registry = new Registry();
  const registers = [registry];
  // Every collect() of one scrape starts in the same tick and shares one read of the database.
  let pending: Promise<Snapshot> | undefined;
  const snapshot = (): Promise<Snapshot> => {
    pending ??= load(opts).finally(() => (pending = undefined));
    return pending;
  };

  new Counter({
    name: 'rotor_runs_total',
    help: 'Ended runs by trigger and result (rotated, discarded, rolled-back, rollback-failed, rollback-unconfirmed).',
    labelNames: ['trigger', 'result'],
    registers,
    async collect() {
      this.reset();
      // Ended runs only: a counter must never go down, and a run leaves `queued` when it starts.
      for (const r of (await snapshot()).results) if (r.ended) this.inc({ trigger: r.trigger, result: r.result }, r.count);
    },
  });
  new Gauge({
    name: 'rotor_runs_active',
    help: 'Runs in progress by trigger and state (queued, running, waiting).',
    labelNames: ['trigger', 'state'],
    registers,
    async collect() {
      this.reset();
      for (const r of (await snapshot()).results) if (!r.ended) this.set({ trigger: r.trigger, state: r.result }, r.count);
    },
  });
  new RunDurationHistogram(registry, snapshot);
  new Gauge({
    name: 'rotor_secret_seconds_since_last_success',
    help: 'Seconds since the last successful rotation of each active secret (absent: never rotated).',
    labelNames: ['secret'],
    registers,
    async collect() {
      this.reset();
      for (const s of (await snapshot()).successes) this.set({ secret: s.secretId }, Math.max(0, Math.round(s.secondsSince)));
    },
  });
  new Gauge({
    name: 'rotor_secret_last_success_timestamp_seconds',
    help: 'Unix time of the last successful rotation of each active secret.',
    labelNames: ['secret'],
    registers,
    async collect() {
      this.reset();
      for (const s of (await snapshot()).successes) this.set({ secret: s.secretId }, Math.round(s.at.getTime() / 1000));
    },
  });
  new Gauge({
    name: 'rotor_secrets',
    help: 'Secrets by status, as the dashboard derives it.',
    labelNames: ['status'],
    registers,
    async collect() {
      const { counts } = await snapshot();
      for (const s of STATUSES) this.set({ status: s }, counts[s]);
    },
  });
  new Gauge({
    name: 'rotor_secrets_overdue',
    help: 'Active secrets past due by more than the tolerance.',
    registers,
    async collect() {
      this.set((await snapshot()).counts.overdue);
    },
  });
  new Gauge({
    name: 'rotor_secrets_needs_attention',
    help: 'Secrets whose last run ended in needs-attention.',
    registers,
    async collect() {
      this.set((await snapshot()).counts['needs-attention']);
    },
  });
  // The names and labels BullMQ's own exportPrometheusMetrics uses, one family for all queues.
  new Gauge({
    name: 'bullmq_job_count',
    help: 'Number of jobs in the queue by state',
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      this.reset();
      for (const q of (await snapshot()).queues)
        if (q) for (const [state, n] of Object.entries(q.counts)) this.set({ queue: q.name, state }, n);
    },
  });
  new Counter({
    name: 'bullmq_job_completed_total',
    help: 'Total number of completed jobs',
    labelNames: ['queue'],
    registers,
    async collect() {
      this.reset();
      for (const q of (await snapshot()).queues) if (q) this.inc({ queue: q.name }, q.completed);
    },
  });
  new Counter({
    name: 'bullmq_job_failed_total',
    help: 'Total number of failed jobs',
    labelNames: ['queue'],
    registers,
    async collect() {
      this.reset();
      for (const q of (await snapshot()).queues) if (q) this.inc({ queue: q.name }, q.failed);
    },
  });
  const tokenRefusals = new Counter({
    name: 'rotor_dashboard_token_refusals_total',
    help: 'Dashboard requests refused for a missing or wrong token, or for too many wrong tokens from one address.',
    labelNames: ['token', 'reason'],
    registers,
  });
  const dashboardRefusals = new Counter({
    name: 'rotor_dashboard_limit_refusals_total',
    help: 'Dashboard connections, /events streams and requests refused with 503 because a limit was reached.',
    labelNames: ['limit'],
    registers,
  });
  new Gauge({
    name: 'rotor_metrics_scrape_timestamp_seconds',
    help: 'When this exposition was computed.',
    registers,
    async collect() {
      this.set((await snapshot()).now.getTime() / 1000);
    },
  });
  return { registry, tokenRefusals, dashboardRefusals, contentType: registry.contentType, render: () => registry.metrics() };
}
