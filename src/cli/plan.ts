// rotor plan [dir] [--at TIME] [--json]: every secret, when it is next due and its risk flags, as
// an aligned table or JSON. Rows stream out in large chunks, so 100k secrets print quickly.
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { computeSyncDiff, lastSuccessesOf, type SyncDiff } from '../state/secrets.js';
import { openStateIfConfigured } from './context.js';
import { DateTime } from 'luxon';
import { InvalidInputError } from '../errors.js';
import { formatProblem, summarizeProblems } from '../policy/format.js';
import { loadPolicies } from '../policy/load.js';
import { policyPass } from '../policy/parallel/pass.js';
import type { Problem } from '../policy/problems.js';
import {
  flagSameTargetSameMinute,
  flagsText,
  frozenText,
  wavesText,
  lastSuccesses,
  planEntry,
  type LastSuccessLookup,
  type PlanEntry,
} from '../policy/plan.js';
import { EXIT } from './exit-codes.js';
import { defaultPolicyDir } from './validate.js';

export interface PlanOptions {
  dir: string;
  /** The moment to plan from. @defaultValue now */
  at?: Date;
  json?: boolean;
  out: Writable;
  /** Last successes from the state database; without it every secret counts as never rotated. */
  lookup?: LastSuccessLookup;
  /** Passed to policyPass: how much YAML it takes to use a second thread. */
  parallelAbove?: number;
}

export function register(program: Command): void {
  program
    .command('plan [dir]')
    .description('every secret, its next due time and its risk flags')
    .option('--at <time>', 'plan as of this ISO 8601 time (UTC unless it has an offset)')
    .option('--json', 'print the plan as a JSON array')
    .action(async (dir: string | undefined, opts: { at?: string; json?: boolean }) => {
      const policyDir = dir ?? defaultPolicyDir();
      const at = opts.at === undefined ? undefined : parseAt(opts.at);
      // With a state database: next due from the real last successes, and what a sync would change.
      const state = await openStateIfConfigured();
      try {
        process.exitCode = await runPlan({
          dir: policyDir,
          ...(at === undefined ? {} : { at }),
          json: opts.json,
          out: process.stdout,
          ...(state ? { lookup: (ids: readonly string[]) => lastSuccessesOf(state.pool, ids) } : {}),
        });
        if (state && process.exitCode === EXIT.OK && !opts.json) {
          const diff = await computeSyncDiff(state.pool, (await loadPolicies(policyDir)).secrets);
          process.stdout.write(`\n${describeSyncDiff(diff)}\n`);
        }
      } finally {
        await state?.close();
      }
    });
}

/** One paragraph: what `rotor start` would change in the state database. */
export function describeSyncDiff(diff: SyncDiff): string {
  const list = (ids: string[]) => (ids.length > 5 ? `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more` : ids.join(', '));
  const parts = [
    diff.added.length ? `add ${diff.added.length} (${list(diff.added)})` : '',
    diff.changed.length ? `change ${diff.changed.length} (${list(diff.changed)})` : '',
    diff.restored.length ? `restore ${diff.restored.length} (${list(diff.restored)})` : '',
    diff.retired.length ? `retire ${diff.retired.length} (${list(diff.retired)})` : '',
  ].filter(Boolean);
  return parts.length
    ? `a sync would ${parts.join('; ')}; ${diff.unchanged} unchanged`
    : `the state database matches these policies (${diff.unchanged} secrets)`;
}

function parseAt(text: string): Date {
  const t = DateTime.fromISO(text, { zone: 'utc' });
  if (!t.isValid)
    throw new InvalidInputError(`--at ${text} is not an ISO 8601 time`, {
      hint: 'e.g. --at 2025-06-02T03:00Z or --at 2025-06-02T05:00+02:00',
    });
  return t.toJSDate();
}

/** What `rotor plan` does; returns the exit code. The benchmark calls it in-process. */
export async function runPlan(opts: PlanOptions): Promise<number> {
  const now = opts.at ?? new Date();
  const writer = new ChunkWriter(opts.out);
  const { problems, entries } = opts.lookup
    ? await withLastSuccesses(opts.dir, now, opts.lookup)
    : await policyPass(opts.dir, { mode: 'plan', now, ...(opts.parallelAbove === undefined ? {} : { parallelAbove: opts.parallelAbove }) });
  if (problems.length) {
    for (const p of problems) await writer.line(formatProblem(p));
    await writer.line(`${summarizeProblems(problems)}; no plan until they are fixed (rotor validate shows the same)`);
    await writer.end();
    return EXIT.USAGE;
  }
  flagSameTargetSameMinute(entries);
  if (opts.json) await writeJson(entries, writer);
  else await writeTable(entries, now, writer, opts.lookup !== undefined);
  await writer.end();
  return EXIT.OK;
}

/** With a state database: every secret first, then one batched lookup, then the entries. */
async function withLastSuccesses(
  dir: string,
  now: Date,
  lookup: LastSuccessLookup,
): Promise<{ problems: Problem[]; entries: PlanEntry[] }> {
  const result = await loadPolicies(dir);
  if (result.problems.length) return { problems: result.problems, entries: [] };
  const last = await lastSuccesses(
    result.secrets.map((s) => s.id),
    lookup,
  );
  return { problems: [], entries: result.secrets.map((s) => planEntry(s, now, last.get(s.id) ?? null)) };
}

async function writeJson(entries: readonly PlanEntry[], w: ChunkWriter): Promise<void> {
  await w.line('[');
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as PlanEntry;
    const json = JSON.stringify({
      id: e.id,
      class: e.className ?? null,
      cadence: e.cadence,
      rotator: e.rotator,
      strategy: e.strategy ?? null,
      nextDue: e.nextDue.toISOString(),
      lastSuccessAt: e.lastSuccessAt?.toISOString() ?? null,
      neverRotated: e.lastSuccessAt === null,
      overdue: e.overdue,
      frozen: e.frozen && { until: e.frozen.until.toISOString(), freeze: e.frozen.text, reason: e.frozen.reason },
      grace: e.grace,
      waves: e.waves,
      targetKey: e.targetKey,
      flags: e.flags,
    });
    const flushed = w.line(i < entries.length - 1 ? `  ${json},` : `  ${json}`);
    if (flushed) await flushed;
  }
  await w.line(']');
}

const HEADERS = ['ID', 'CLASS', 'CADENCE', 'ROTATOR', 'NEXT DUE (UTC)', 'GRACE', 'CONSUMERS', 'FLAGS'];
/** A column wider than this does not widen the table; its long cells push their row instead. */
const MAX_WIDTH = 48;

// In a plan many secrets fall in the same minute (all never-rotated ones, a window's opening).
const minuteTexts = new Map<number, string>();

function utcMinute(d: Date): string {
  const minute = Math.floor(d.getTime() / 60_000);
  let text = minuteTexts.get(minute);
  if (text === undefined) {
    const iso = d.toISOString();
    text = `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
    if (minuteTexts.size > 100_000) minuteTexts.clear();
    minuteTexts.set(minute, text);
  }
  return text;
}

function dueText(e: PlanEntry, now: Date): string {
  const at = e.nextDue.getTime() - now.getTime() < 60_000 ? 'now' : utcMinute(e.nextDue);
  if (e.lastSuccessAt === null) return `never rotated, due ${at}`;
  return e.overdue ? `overdue, due ${at}` : at;
}

function cells(e: PlanEntry, now: Date): string[] {
  return [
    e.id,
    e.className ?? '-',
    e.cadence,
    e.strategy ? `${e.rotator}/${e.strategy}` : e.rotator,
    dueText(e, now),
    e.grace,
    wavesText(e.waves),
    notesText(e),
  ];
}

/** The FLAGS cell: the risk flags, then why the due time is later than the cadence says (a freeze). */
function notesText(e: PlanEntry): string {
  if (!e.frozen) return flagsText(e.flags);
  return e.flags.length ? `${flagsText(e.flags)}; ${frozenText(e.frozen)}` : frozenText(e.frozen);
}

/**
 * The width cells(e) would need in each column but the last, without making the cells: the
 * widths come from every row before the first is printed, and making each row's cells twice
 * cost more than printing them. Mirrors cells() exactly.
 */
function widen(widths: number[], e: PlanEntry, now: Date): void {
  fit(widths, 0, e.id.length);
  fit(widths, 1, (e.className ?? '-').length);
  fit(widths, 2, e.cadence.length);
  fit(widths, 3, e.strategy ? e.rotator.length + 1 + e.strategy.length : e.rotator.length);
  // dueText: a prefix, then `now` or a UTC minute (YYYY-MM-DD HH:MM).
  const at = e.nextDue.getTime() - now.getTime() < 60_000 ? 3 : 16;
  fit(widths, 4, (e.lastSuccessAt === null ? 'never rotated, due '.length : e.overdue ? 'overdue, due '.length : 0) + at);
  fit(widths, 5, e.grace.length);
  // One text per shared list of waves: measuring it is a lookup.
  fit(widths, 6, wavesText(e.waves).length);
}

function fit(widths: number[], column: number, len: number): void {
  if (len > (widths[column] as number) && len <= MAX_WIDTH) widths[column] = len;
}

async function writeTable(entries: readonly PlanEntry[], now: Date, w: ChunkWriter, withState: boolean): Promise<void> {
  const widths = HEADERS.map((h) => h.length);
  for (const e of entries) widen(widths, e, now);
  const render = (row: string[]) => {
    let line = '';
    for (let c = 0; c < row.length - 1; c++) line += (row[c] as string).padEnd(widths[c] as number) + '  ';
    return line + (row[row.length - 1] as string);
  };
  await w.line(render(HEADERS));
  for (const e of entries) {
    const flushed = w.line(render(cells(e, now)));
    if (flushed) await flushed;
  }
  const counts = new Map<string, number>();
  for (const e of entries) for (const f of e.flags) counts.set(f.flag, (counts.get(f.flag) ?? 0) + 1);
  const flagText = counts.size
    ? [...counts]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .map(([flag, n]) => `${n} ${flag}`)
        .join(', ')
    : 'no risk flags';
  await w.line(`\n${entries.length} ${entries.length === 1 ? 'secret' : 'secrets'}; ${flagText}`);
  if (!withState) await w.line('no state database consulted: every secret counts as never rotated');
}

/**
 * Collects lines into ~64 KB writes and waits when the stream asks it to (a slow pipe). `line`
 * returns a promise only when it wrote a chunk, so 100k rows are not 100k awaits.
 */
export class ChunkWriter {
  // Lines joined once per chunk: one string of 64 KB, rather than a chain of 500 appends.
  private lines: string[] = [];
  private size = 0;
  constructor(private readonly out: Writable) {}

  line(text: string): Promise<void> | undefined {
    this.lines.push(text);
    this.size += text.length + 1;
    return this.size >= 65_536 ? this.flush() : undefined;
  }

  async end(): Promise<void> {
    await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.lines.length === 0) return;
    const chunk = this.lines.join('\n') + '\n';
    this.lines = [];
    this.size = 0;
    if (!this.out.write(chunk)) await new Promise<void>((resolve) => this.out.once('drain', () => resolve()));
  }
}
