// /metrics in the Prometheus text format: runs by result, run durations, time since each secret's
// last success, secrets per status, and BullMQ's own export for each queue, merged into one family
// per metric name (Prometheus rejects a second HELP/TYPE for the same name).
import type { QueueKit } from '../queue/backend.js';
import type { Queryable } from '../state/db.js';
import { QUEUE_NAMES } from './details.js';
import { statusCounts, STATUSES, type StatusRules } from '../state/status.js';

/** Seconds; rotations span a verify (seconds) to a long grace window (hours). */
const DURATION_BUCKETS = [1, 5, 15, 60, 300, 900, 3600, 14_400, 43_200, 86_400];

export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

interface Family {
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  samples: string[];
}

class Exposition {
  private readonly families = new Map<string, Family>();

  add(name: string, type: Family['type'], help: string, samples: string[]): void {
    const f = this.families.get(name);
    if (f) f.samples.push(...samples);
    else this.families.set(name, { help, type, samples: [...samples] });
  }

  /** Folds in another exposition's text (BullMQ's), grouping samples under one HELP/TYPE per name. */
  merge(text: string): void {
    const help = new Map<string, string>();
    const types = new Map<string, Family['type']>();
    for (const line of text.split('\n')) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (m) {
        if (m[1] === 'HELP') help.set(m[2]!, m[3]!);
        else types.set(m[2]!, m[3] as Family['type']);
        continue;
      }
      if (!line.trim() || line.startsWith('#')) continue;
      const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
      if (!name) continue;
      this.add(name, types.get(name) ?? 'gauge', help.get(name) ?? name, [line]);
    }
  }

  toString(): string {
    const out: string[] = [];
    for (const [name, f] of this.families) out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`, ...f.samples);
    return out.join('\n') + '\n';
  }
}

export async function renderMetrics(db: Queryable, kit: QueueKit | undefined, rules: StatusRules): Promise<string> {
  const x = new Exposition();
  const [byResult, durations, sinceSuccess, counts] = await Promise.all([
    db.query<{ trigger: string; result: string; ended: boolean; n: string }>(
      `select trigger, coalesce(outcome, state) as result, state in ('done', 'needs-attention') as ended, count(*) as n
       from runs group by 1, 2, 3 order by 1, 2`,
    ),
    db.query<{ trigger: string; buckets: number[]; sum: number; n: string }>(
      `select trigger, array[${DURATION_BUCKETS.map((b) => `count(*) filter (where d <= ${b})::int`).join(', ')}] as buckets,
         coalesce(sum(d), 0)::float8 as sum, count(*) as n
       from (select trigger, extract(epoch from finished_at - created_at)::float8 as d from runs where finished_at is not null) t
       group by trigger order by trigger`,
    ),
    db.query<{ id: string; s: number; at: number }>(
      `select id, extract(epoch from $1::timestamptz - last_success_at)::float8 as s, extract(epoch from last_success_at)::float8 as at
       from secrets where status = 'active' and last_success_at is not null order by id`,
      [rules.now],
    ),
    statusCounts(db, rules),
  ]);
  // Ended runs only: a counter must never go down, and a run leaves `queued` when it starts.
  x.add('rotor_runs_total', 'counter', 'Ended runs by trigger and result (rotated, discarded, rolled-back, rollback-failed).',
    byResult.rows.filter((r) => r.ended).map((r) => `rotor_runs_total{trigger="${r.trigger}",result="${escapeLabel(r.result)}"} ${r.n}`));
  x.add('rotor_runs_active', 'gauge', 'Runs in progress by trigger and state (queued, running, waiting).',
    byResult.rows.filter((r) => !r.ended).map((r) => `rotor_runs_active{trigger="${r.trigger}",state="${escapeLabel(r.result)}"} ${r.n}`));
  const hist: string[] = [];
  for (const r of durations.rows) {
    DURATION_BUCKETS.forEach((b, i) => hist.push(`rotor_run_duration_seconds_bucket{trigger="${r.trigger}",le="${b}"} ${r.buckets[i]}`));
    hist.push(`rotor_run_duration_seconds_bucket{trigger="${r.trigger}",le="+Inf"} ${r.n}`);
    hist.push(`rotor_run_duration_seconds_sum{trigger="${r.trigger}"} ${r.sum}`, `rotor_run_duration_seconds_count{trigger="${r.trigger}"} ${r.n}`);
  }
  x.add('rotor_run_duration_seconds', 'histogram', 'Duration of ended runs, from request to end (grace included).', hist);
  x.add('rotor_secret_seconds_since_last_success', 'gauge', 'Seconds since the last successful rotation of each active secret (absent: never rotated).',
    sinceSuccess.rows.map((r) => `rotor_secret_seconds_since_last_success{secret="${escapeLabel(r.id)}"} ${Math.max(0, r.s).toFixed(0)}`));
  x.add('rotor_secret_last_success_timestamp_seconds', 'gauge', 'Unix time of the last successful rotation of each active secret.',
    sinceSuccess.rows.map((r) => `rotor_secret_last_success_timestamp_seconds{secret="${escapeLabel(r.id)}"} ${r.at.toFixed(0)}`));
  x.add('rotor_secrets', 'gauge', 'Secrets by status, as the dashboard derives it.', STATUSES.map((s) => `rotor_secrets{status="${s}"} ${counts[s]}`));
  x.add('rotor_secrets_overdue', 'gauge', 'Active secrets past due by more than the tolerance.', [`rotor_secrets_overdue ${counts.overdue}`]);
  x.add('rotor_secrets_needs_attention', 'gauge', 'Secrets whose last run ended in needs-attention.', [`rotor_secrets_needs_attention ${counts['needs-attention']}`]);
  if (kit) {
    const exports = await Promise.all(
      QUEUE_NAMES.map((name) => kit.queue(name).raw.exportPrometheusMetrics().catch(() => '')),
    );
    for (const text of exports) x.merge(text);
  }
  x.add('rotor_metrics_scrape_timestamp_seconds', 'gauge', 'When this exposition was computed.', [`rotor_metrics_scrape_timestamp_seconds ${(rules.now.getTime() / 1000).toFixed(3)}`]);
  return x.toString();
}
