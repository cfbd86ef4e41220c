// What `rotor incident` prints: the plan before an incident starts, and its progress (a bar and the
// counts per phase, then the secrets that need attention). Pure text: fed the plan and counts.
import { frozenCount, type IncidentCounts, type IncidentPlan } from '../../engine/incident.js';
import { MANUAL_ROTATOR } from '../../rotator/catalogue.js';
import { NO_COLOURS, type Palette } from './colour.js';
import { duration } from './time.js';

/** Secrets listed by name in the plan's order section before "and N more". */
const SHOWN = 12;

/** `overrideFreeze`: the incident will start its runs inside freeze windows too (--override-freeze). */
export function planText(plan: IncidentPlan, reason: string, overrideFreeze = false): string {
  const lines: string[] = [];
  const n = plan.secrets.length;
  lines.push(`Incident plan: ${n} secret${n === 1 ? '' : 's'} on ${plan.targets.length} target${plan.targets.length === 1 ? '' : 's'}`);
  lines.push(`  reason:      ${reason}`);
  lines.push(`  per target:  at most ${plan.perTarget} run${plan.perTarget === 1 ? '' : 's'} at once`);
  lines.push(
    `  estimate:    ${
      plan.estimateMs === null
        ? 'unknown (no run has finished yet)'
        : `about ${duration(plan.estimateMs)} (recent runs take ${duration(plan.runMs ?? 0)})`
    }`,
  );
  if (n > 1)
    lines.push(
      `  canary:      ${plan.secrets[0]!.secretId} rotates alone first; the other ${n - 1} start once it no longer holds a worker`,
    );
  const manual = plan.secrets.filter((s) => s.rotator === MANUAL_ROTATOR).length;
  if (manual)
    lines.push(
      `  manual:      ${manual} secret${manual === 1 ? ' is' : 's are'} rotated by a person (then rotor attest); listed as needs attention`,
    );
  const frozen = frozenCount(plan);
  if (frozen) {
    const which =
      frozen === n ? (n === 1 ? 'the secret is' : `all ${n} secrets are`) : `${frozen} of the ${n} secrets ${frozen === 1 ? 'is' : 'are'}`;
    lines.push(
      `  frozen:      ${which} inside a freeze window now: ${
        overrideFreeze
          ? 'started anyway (--override-freeze; each audited as run.freeze-overridden)'
          : `not started (listed as needs attention); add --override-freeze to rotate ${frozen === 1 ? 'it' : 'them'} too`
      }`,
    );
  }
  lines.push('', 'Targets:');
  for (const t of plan.targets) lines.push(`  ${t.targetKey}  ${t.secrets}`);
  lines.push('', 'Order (dependencies first):');
  const levels = new Map<number, string[]>();
  for (const s of plan.secrets) levels.set(s.level, [...(levels.get(s.level) ?? []), s.secretId]);
  for (const [level, ids] of [...levels].sort((a, b) => a[0] - b[0])) {
    const shown = ids.slice(0, SHOWN).join(', ');
    lines.push(`  ${level + 1}. ${shown}${ids.length > SHOWN ? `, and ${ids.length - SHOWN} more` : ''}`);
  }
  lines.push('', 'Consumers touched:');
  if (!plan.consumers.length) lines.push('  none');
  for (const c of plan.consumers) lines.push(`  ${c.name}  (${c.secrets} secret${c.secrets === 1 ? '' : 's'})`);
  if (plan.unknownIds.length) {
    lines.push(
      '',
      `Not found (no active secret): ${plan.unknownIds.slice(0, SHOWN).join(', ')}${plan.unknownIds.length > SHOWN ? ', ...' : ''}`,
    );
  }
  return lines.join('\n');
}

/** `[########------]  42/300` */
export function progressBar(done: number, total: number, width = 30): string {
  const filled = total ? Math.round((done / total) * width) : width;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(done).padStart(String(total).length)}/${total}`;
}

export interface StatusView {
  id: string;
  state: string;
  reason: string;
  actor: string;
  startedAt: Date;
  endedAt: Date | null;
  counts: IncidentCounts;
  /** Secrets that need attention, with why. */
  failures: Array<{ secretId: string; why: string }>;
}

export function statusText(v: StatusView, now: Date, palette: Palette = NO_COLOURS): string {
  const c = v.counts;
  const ended = c.done + c['needs-attention'] + c['not-started'];
  const elapsed = (v.endedAt ?? now).getTime() - v.startedAt.getTime();
  const state =
    v.state === 'done' && !c['needs-attention'] ? palette.green(v.state) : c['needs-attention'] ? palette.red(v.state) : v.state;
  const lines = [
    `incident ${v.id}: ${state}, ${duration(elapsed)}${v.endedAt ? '' : ' so far'} (by ${v.actor}: ${v.reason})`,
    `  ${progressBar(ended, c.total)}`,
    `  done ${c.done} · rotating ${c.rotating} · waiting on consumers ${c['waiting-on-consumers']} · needs attention ${c['needs-attention']} · pending ${c.pending}${c['not-started'] ? ` · not started ${c['not-started']}` : ''}`,
  ];
  for (const f of v.failures.slice(0, 20)) lines.push(`  ${palette.red('✗')} ${f.secretId}: ${f.why}`);
  if (v.failures.length > 20) lines.push(`  ... and ${v.failures.length - 20} more (rotor incident status ${v.id} --json)`);
  return lines.join('\n');
}
