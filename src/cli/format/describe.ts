// The text of `rotor status <id>`: one secret laid out like `kubectl describe` (labelled facts,
// then sections for versions, the active run, the last runs with their steps and consumers).
import type { RunWait } from '../../state/run-waits.js';
import type { VersionInfo } from '../../store/contract.js';
import { NO_COLOURS, paintStatus, type Palette } from './colour.js';
import { cut } from './table.js';
import { absolute, both, duration } from './time.js';
import { describeWait } from './wait.js';

export interface DetailStep {
  step: string;
  attempt: number;
  status: string;
  startedAt: Date;
  finishedAt: Date | null;
  error: string | null;
}

export interface DetailConsumer {
  name: string;
  wave: number;
  notifiedAt: Date | null;
  confirmedAt: Date | null;
  confirmedAfterPromoteMs: number | null;
  lastError: string | null;
  /** Set when the run rolled back: when it was told the old version again, and confirmed it. */
  rollbackNotifiedAt?: Date | null;
  rollbackConfirmedAt?: Date | null;
  rollbackError?: string | null;
}

/** What a consumer did in a rollback, to follow its line: `; rollback: confirmed the old version`. */
export function rollbackPart(c: Pick<DetailConsumer, 'rollbackNotifiedAt' | 'rollbackConfirmedAt' | 'rollbackError'>): string {
  if (!c.rollbackNotifiedAt) return '';
  if (c.rollbackConfirmedAt) return '; rollback: confirmed the old version';
  return `; rollback: told the old version, not confirmed${c.rollbackError ? `: ${c.rollbackError}` : ''}`;
}

export interface DetailRun {
  id: string;
  trigger: string;
  actor: string;
  reason: string | null;
  state: string;
  step: string;
  outcome: string | null;
  error: string | null;
  createdAt: Date;
  finishedAt: Date | null;
  steps: DetailStep[];
  consumers: DetailConsumer[];
}

/** What `rotor status <id>` knows of one secret; the text and `--json` both come from it. */
export interface SecretDetail {
  id: string;
  status: string;
  rotator: string;
  class: string | null;
  owner: string | null;
  lastSuccessAt: Date | null;
  nextDueAt: Date | null;
  overdueSince: Date | null;
  policy: {
    schedule: string;
    window: string | null;
    graceMs: number;
    emergencyGraceMs: number;
    store: string;
    target: string;
    source: string;
    consumers: string[];
  };
  activeRun: { id: string; step: string; state: string; wait: RunWait | null } | null;
  /** The store's versions and stages, or why they could not be read. */
  versions: VersionInfo[] | { unknown: string };
  pending: Record<string, unknown> | null;
  runs: DetailRun[];
}

export interface DescribeOptions {
  now: Date;
  width?: number;
  palette?: Palette;
}

const LABEL = 16;

export function describeSecret(d: SecretDetail, opts: DescribeOptions): string[] {
  const p = opts.palette ?? NO_COLOURS;
  const { now } = opts;
  const lines: string[] = [];
  const fit = (s: string) => (opts.width === undefined ? s : cut(s, opts.width));
  const fact = (label: string, value: string, indent = '') => lines.push(fit(`${indent}${`${label}:`.padEnd(LABEL)}${value}`));
  const heading = (title: string) => lines.push('', p.bold(title));

  fact('Secret', d.id);
  // Kept on a line of its own: scripts (and the status-words test) read the word there.
  lines.push(`${'Status:'.padEnd(LABEL)}${paintStatus(p, d.status)}`);
  fact('Owner', d.owner ?? '-');
  fact('Class', d.class ?? '-');
  fact('Rotator', d.rotator);
  fact('Store', d.policy.store);
  fact('Target', d.policy.target);
  fact('Schedule', d.policy.schedule + (d.policy.window ? `, window ${d.policy.window}` : ''));
  fact('Grace', `${duration(d.policy.graceMs)} (emergency ${duration(d.policy.emergencyGraceMs)})`);
  fact('Consumers', d.policy.consumers.length ? d.policy.consumers.join(', ') : '-');
  fact('Policy', d.policy.source);
  fact('Last success', both(d.lastSuccessAt, now));
  fact('Next due', both(d.nextDueAt, now));
  if (d.overdueSince) fact('Overdue since', both(d.overdueSince, now));

  heading('Versions');
  if ('unknown' in d.versions) {
    lines.push(fit(`  unknown: ${d.versions.unknown}`));
  } else if (d.versions.length === 0) {
    lines.push('  none yet');
  } else {
    const w = Math.max(...d.versions.map((v) => v.versionId.length));
    const stages = (v: VersionInfo) => v.stages.join(',') || '-';
    const sw = Math.max(...d.versions.map((v) => stages(v).length));
    for (const v of d.versions) {
      lines.push(fit(`  ${v.versionId.padEnd(w)}  ${stages(v).padEnd(sw)}  ${both(v.createdAt, now)}`));
    }
  }
  if (d.pending && 'dangling' in d.pending && d.pending.dangling) {
    lines.push(fit(`  ${p.yellow('PENDING left by an unfinished rotation')}: ${String(d.pending.hint ?? '')}`));
  }

  heading('Active run');
  if (!d.activeRun) {
    lines.push('  none');
  } else {
    fact('Run', d.activeRun.id, '  ');
    fact('State', `${d.activeRun.state}, at ${d.activeRun.step}`, '  ');
    if (d.activeRun.wait) fact('Waiting', describeWait(d.activeRun.wait, now), '  ');
  }

  heading(`Last runs (${d.runs.length})`);
  if (d.runs.length === 0) lines.push('  none yet');
  for (const r of d.runs) {
    const took = r.finishedAt ? `, took ${duration(r.finishedAt.getTime() - r.createdAt.getTime())}` : '';
    const state = r.state === 'needs-attention' ? p.red(r.state) : r.state;
    lines.push(fit(`  ${r.id}  ${r.trigger} by ${r.actor}${r.reason ? ` (${r.reason})` : ''}`));
    lines.push(`    ${state}${r.outcome ? ` (${r.outcome})` : ''}, started ${both(r.createdAt, now)}${took}`);
    if (r.error) lines.push(fit(`    error: ${r.error}`));
    for (const s of r.steps) {
      const spent = s.finishedAt ? duration(s.finishedAt.getTime() - s.startedAt.getTime()) : '';
      lines.push(
        fit(
          `    ${absolute(s.startedAt).slice(11)}  ${s.step.padEnd(17)} #${s.attempt} ${s.status.padEnd(9)} ${spent}${s.error ? `  ${s.error}` : ''}`.trimEnd(),
        ),
      );
    }
    for (const c of r.consumers) {
      const what = c.confirmedAt
        ? `confirmed${c.confirmedAfterPromoteMs !== null ? ` ${duration(c.confirmedAfterPromoteMs)} after promote` : ''}`
        : c.notifiedAt
          ? 'notified, not confirmed'
          : 'not notified';
      lines.push(
        fit(`    consumer ${c.name} (wave ${c.wave}): ${what}${c.lastError && !c.confirmedAt ? `: ${c.lastError}` : ''}${rollbackPart(c)}`),
      );
    }
  }
  return lines;
}
