// rotor report: the compliance report. Per secret its cadence, the age of its CURRENT credential,
// its last rotation (when, by whom, how), overdue days, failed runs in the period and consumers
// confirmed; totals per owner and per class. As a table, JSON, CSV, or one self-contained HTML
// file with an inline SVG chart of each credential's age against its policy.
import type { Command } from 'commander';
import { InvalidInputError } from '../errors.js';
import { describeSchedule, shortestCadenceMs } from '../policy/cadence.js';
import { parseDuration } from '../policy/duration.js';
import { reportRows, type ReportRow } from '../state/report.js';
import { openState, out } from './context.js';
import { renderTable } from './format/table.js';

const FORMATS = ['table', 'json', 'csv', 'html'] as const;
const DAY = 86_400_000;

export interface ReportEntry {
  id: string;
  owner: string | null;
  class: string | null;
  rotator: string;
  cadence: string;
  cadenceDays: number;
  /** Days since CURRENT was made (the last success); null when never rotated. */
  ageDays: number | null;
  lastRotation: { at: string; by: string; trigger: string } | null;
  overdueDays: number;
  failures: number;
  consumersConfirmed: number;
  consumersTotal: number;
}

export interface ReportTotal {
  secrets: number;
  overdue: number;
  failures: number;
  oldestAgeDays: number | null;
}

const round = (n: number) => Math.round(n * 10) / 10;

export function reportEntry(r: ReportRow, now: Date): ReportEntry {
  const due = r.nextDueAt?.getTime();
  return {
    id: r.id,
    owner: r.policy.owner ?? null,
    class: r.policy.className ?? null,
    rotator: r.policy.rotator.name,
    cadence: describeSchedule(r.policy.schedule),
    cadenceDays: round(shortestCadenceMs(r.policy.schedule) / DAY),
    ageDays: r.lastSuccessAt ? round((now.getTime() - r.lastSuccessAt.getTime()) / DAY) : null,
    lastRotation: r.lastAt ? { at: r.lastAt.toISOString(), by: r.lastActor ?? '', trigger: r.lastTrigger ?? '' } : null,
    overdueDays: due !== undefined && due < now.getTime() ? round((now.getTime() - due) / DAY) : 0,
    failures: r.failures,
    consumersConfirmed: r.consumersConfirmed,
    consumersTotal: r.consumersTotal,
  };
}

export function totalsBy(entries: readonly ReportEntry[], key: 'owner' | 'class'): Record<string, ReportTotal> {
  const totals: Record<string, ReportTotal> = {};
  for (const e of entries) {
    const t = (totals[e[key] ?? '(none)'] ??= { secrets: 0, overdue: 0, failures: 0, oldestAgeDays: null });
    t.secrets++;
    if (e.overdueDays > 0) t.overdue++;
    t.failures += e.failures;
    if (e.ageDays !== null) t.oldestAgeDays = Math.max(t.oldestAgeDays ?? 0, e.ageDays);
  }
  return totals;
}

export function register(program: Command): void {
  program
    .command('report')
    .description('compliance report: per secret its cadence, credential age, last rotation, overdue days, failures and consumers')
    .option('--format <format>', FORMATS.join(', '), 'table')
    .option('--owner <owner>', 'only secrets of this owner')
    .option('--class <class>', 'only secrets of this class')
    .option('--period <duration>', 'failures counted over this period', '30d')
    .action(async (opts: { format: string; owner?: string; class?: string; period: string }) => {
      if (!(FORMATS as readonly string[]).includes(opts.format)) {
        throw new InvalidInputError(`--format ${opts.format} is not one of ${FORMATS.join(', ')}`);
      }
      const periodMs = parseDuration(opts.period);
      if (!periodMs) throw new InvalidInputError(`--period ${opts.period} is not a duration`, { hint: 'e.g. --period 30d' });
      const now = new Date();
      const state = await openState();
      try {
        const rows = await reportRows(state.pool, { since: new Date(now.getTime() - periodMs), owner: opts.owner, className: opts.class });
        const entries = rows.map((r) => reportEntry(r, now));
        const byOwner = totalsBy(entries, 'owner');
        const byClass = totalsBy(entries, 'class');
        if (opts.format === 'json')
          out(JSON.stringify({ generatedAt: now.toISOString(), period: opts.period, secrets: entries, byOwner, byClass }, null, 2));
        else if (opts.format === 'csv') out(csv(entries));
        else if (opts.format === 'html') out(html(entries, byOwner, byClass, now));
        else out(table(entries, byOwner, byClass));
      } finally {
        await state.close();
      }
    });
}

const COLUMNS = [
  'id',
  'owner',
  'class',
  'cadence',
  'age_days',
  'last_rotation',
  'by',
  'trigger',
  'overdue_days',
  'failures',
  'consumers_confirmed',
];

function cells(e: ReportEntry): string[] {
  return [
    e.id,
    e.owner ?? '',
    e.class ?? '',
    e.cadence,
    e.ageDays === null ? '' : String(e.ageDays),
    e.lastRotation?.at ?? '',
    e.lastRotation?.by ?? '',
    e.lastRotation?.trigger ?? '',
    String(e.overdueDays),
    String(e.failures),
    `${e.consumersConfirmed}/${e.consumersTotal}`,
  ];
}

function csv(entries: readonly ReportEntry[]): string {
  const cell = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [COLUMNS.join(','), ...entries.map((e) => cells(e).map(cell).join(','))].join('\n');
}

function table(entries: readonly ReportEntry[], byOwner: Record<string, ReportTotal>, byClass: Record<string, ReportTotal>): string {
  const lines = renderTable(
    COLUMNS.map((header) => ({ header })),
    entries.map(cells),
    undefined,
  );
  const totals = (title: string, t: Record<string, ReportTotal>) => [
    '',
    title,
    ...renderTable(
      ['name', 'secrets', 'overdue', 'failures', 'oldest_age_days'].map((header) => ({ header })),
      Object.entries(t).map(([k, v]) => [
        k,
        String(v.secrets),
        String(v.overdue),
        String(v.failures),
        v.oldestAgeDays === null ? '' : String(v.oldestAgeDays),
      ]),
      undefined,
    ),
  ];
  return [...lines, ...totals('per owner', byOwner), ...totals('per class', byClass)].join('\n');
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** One file, no external resources: a table, the totals, and an SVG bar per secret (age vs cadence). */
function html(
  entries: readonly ReportEntry[],
  byOwner: Record<string, ReportTotal>,
  byClass: Record<string, ReportTotal>,
  now: Date,
): string {
  const rowH = 18;
  const width = 640;
  const label = 220;
  const max = Math.max(1, ...entries.map((e) => Math.max(e.ageDays ?? 0, e.cadenceDays)));
  const x = (days: number) => label + ((width - label - 10) * days) / max;
  const bars = entries.map((e, i) => {
    const y = i * rowH + 4;
    const age = e.ageDays ?? 0;
    const over = age > e.cadenceDays;
    return `<g><text x="${label - 6}" y="${y + 12}" text-anchor="end" font-size="11">${esc(e.id)}</text><rect class="${over ? 'over' : 'ok'}" x="${label}" y="${y}" width="${(x(age) - label).toFixed(1)}" height="${rowH - 6}" fill="${over ? '#c0392b' : '#2e86de'}"><title>${esc(e.id)}: ${e.ageDays ?? 'never rotated'} days old, cadence ${e.cadenceDays} days</title></rect><line x1="${x(e.cadenceDays).toFixed(1)}" x2="${x(e.cadenceDays).toFixed(1)}" y1="${y - 2}" y2="${y + rowH - 4}" stroke="#222" stroke-width="2"/></g>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${entries.length * rowH + 8}" role="img" aria-label="credential age against policy">${bars.join('')}</svg>`;
  const tableHtml = (cols: string[], rows: string[][]) =>
    `<table><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</table>`;
  const totals = (t: Record<string, ReportTotal>) =>
    tableHtml(
      ['name', 'secrets', 'overdue', 'failures', 'oldest age (days)'],
      Object.entries(t).map(([k, v]) => [
        k,
        String(v.secrets),
        String(v.overdue),
        String(v.failures),
        v.oldestAgeDays === null ? '' : String(v.oldestAgeDays),
      ]),
    );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>rotor compliance report</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style></head>
<body><h1>rotor compliance report</h1><p>Generated ${esc(now.toISOString())}. Bars: age of the CURRENT credential in days (red when older than the cadence); the black mark is the cadence.</p>
${svg}
<h2>Secrets</h2>${tableHtml(COLUMNS, entries.map(cells))}
<h2>Per owner</h2>${totals(byOwner)}<h2>Per class</h2>${totals(byClass)}</body></html>`;
}
