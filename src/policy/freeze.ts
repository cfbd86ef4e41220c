// Freeze windows (`freezes:` at the top of a policy file, in a class or in a secret): spans during
// which routine rotations are not started. A fixed range in a time zone
// (`{ from: 2026-12-20, to: 2027-01-04, tz: Europe/Berlin }`) or a recurring span that starts at
// each time of a cron expression and lasts `duration` (`{ cron: "0 0 L * *", duration: 3d }`, the
// month-end close). Parsed here; the scheduler defers due secrets past them (schedule.ts) and
// src/engine/freeze.ts decides whether a run asked for by a person may start.
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { DateTime } from 'luxon';
import { TIME_ZONE_HINT, isValidTimeZone, shortestCronGapMs } from './cadence.js';
import { formatDuration, parseDuration } from './duration.js';
import type { RawProblem } from './issues.js';
import type { ProblemCode } from './problems.js';
import type { RawFreeze } from './schema.js';
import type { PathSegment } from './yaml/source.js';

/** A resolved freeze: JSON-safe (it travels in the secret's policy row). */
export type Freeze =
  | { kind: 'range'; start: number; end: number; tz: string; text: string; reason?: string }
  | { kind: 'cron'; expression: string; tz: string; durationMs: number; text: string; reason?: string };

/** One span of a freeze: frozen from `start` (inclusive) to `end` (exclusive). */
export interface FreezeSpan {
  start: number;
  end: number;
  freeze: Freeze;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** Parses a `freezes:` list (already shape-checked); problems at the field that is wrong. */
export function parseFreezes(raw: readonly RawFreeze[] | undefined, path: PathSegment[], out: RawProblem[]): Freeze[] {
  const freezes: Freeze[] = [];
  (raw ?? []).forEach((f, i) => {
    const at = [...path, i];
    const problem = (sub: string | undefined, code: ProblemCode, message: string, hint: string) =>
      out.push({ path: sub ? [...at, sub] : at, at: sub ? 'value' : 'key', code, message, hint });
    const tz = f.tz ?? 'UTC';
    if (!isValidTimeZone(tz)) return problem('tz', 'invalid-timezone', `unknown time zone \`${tz}\``, TIME_ZONE_HINT);
    const reason = f.reason === undefined ? {} : { reason: f.reason };
    const ranged = f.from !== undefined || f.to !== undefined;
    const recurring = f.cron !== undefined || f.duration !== undefined;
    if (ranged === recurring) {
      return problem(
        undefined,
        'invalid-freeze',
        ranged
          ? 'a freeze is either a range (from, to) or recurring (cron, duration), not both'
          : 'a freeze needs from and to, or cron and duration',
        'write { from: 2026-12-20, to: 2027-01-04, tz: Europe/Berlin } or { cron: "0 0 L * *", duration: 3d }',
      );
    }
    if (ranged) {
      if (f.from === undefined || f.to === undefined) {
        return problem(
          f.from === undefined ? undefined : 'from',
          'invalid-freeze',
          'a freeze range needs both from and to',
          'add the missing end, e.g. to: 2027-01-04',
        );
      }
      const start = localTime(f.from, tz, false);
      const end = localTime(f.to, tz, true);
      if (start === undefined) return problem('from', 'invalid-freeze', `\`${f.from}\` is not a date or a date and time`, DATE_HINT);
      if (end === undefined) return problem('to', 'invalid-freeze', `\`${f.to}\` is not a date or a date and time`, DATE_HINT);
      if (end <= start)
        return problem('to', 'invalid-freeze', `the freeze ends (${f.to}) before it starts (${f.from})`, 'make `to` later than `from`');
      freezes.push({ kind: 'range', start, end, tz, text: `${f.from} to ${f.to} ${tz}`, ...reason });
      return;
    }
    if (f.cron === undefined || f.duration === undefined) {
      return problem(
        undefined,
        'invalid-freeze',
        'a recurring freeze needs both cron and duration',
        'e.g. { cron: "0 0 L * *", duration: 3d }',
      );
    }
    let error: string | undefined;
    try {
      expression(f.cron, tz).next();
    } catch (err) {
      error = (err as Error).message;
    }
    if (error || f.cron.trim().split(/\s+/).length < 5) {
      return problem(
        'cron',
        'invalid-cron',
        `cron expression "${f.cron}" is invalid${error ? `: ${error}` : ': it needs five fields'}`,
        CRON_HINT,
      );
    }
    const durationMs = parseDuration(f.duration) ?? 0;
    if (durationMs <= 0)
      return problem('duration', 'invalid-freeze', `duration \`${f.duration}\` is not longer than zero`, 'e.g. duration: 3d');
    if (durationMs >= shortestCronGapMs(f.cron, tz)) {
      return problem(
        'duration',
        'invalid-freeze',
        `a freeze of ${formatDuration(durationMs)} every time "${f.cron}" fires never ends: the next span starts before this one is over`,
        `make the duration shorter than ${formatDuration(shortestCronGapMs(f.cron, tz))}`,
      );
    }
    freezes.push({ kind: 'cron', expression: f.cron, tz, durationMs, text: `${f.duration} from "${f.cron}" ${tz}`, ...reason });
  });
  return freezes;
}

const DATE_HINT = 'write an ISO date (2026-12-20) or date and time (2026-12-20T18:00), local to tz';
const CRON_HINT = 'five fields: minute hour day-of-month month day-of-week, e.g. "0 0 L * *" (00:00 on the last day of each month)';

/** A date is a whole day: `from` its start, `to` its end (the next day's start). */
function localTime(text: string, tz: string, isEnd: boolean): number | undefined {
  const t = DateTime.fromISO(text, { zone: tz });
  if (!t.isValid) return undefined;
  return (DATE_ONLY.test(text) && isEnd ? t.plus({ days: 1 }) : t).toMillis();
}

const expressions = new Map<string, CronExpression>();

function expression(cron: string, tz: string): CronExpression {
  const key = `${tz} ${cron}`;
  let e = expressions.get(key);
  if (!e) {
    e = CronExpressionParser.parse(cron, { tz, strict: false });
    if (expressions.size < 1_000) expressions.set(key, e);
  }
  return e;
}

/** The span of `freezes` that contains `t`, the one that ends last when several do; null when none. */
export function freezeAt(freezes: readonly Freeze[] | undefined, t: number): FreezeSpan | null {
  let found: FreezeSpan | null = null;
  for (const freeze of freezes ?? []) {
    let span: FreezeSpan | null = null;
    if (freeze.kind === 'range') {
      if (freeze.start <= t && t < freeze.end) span = { start: freeze.start, end: freeze.end, freeze };
    } else {
      // The last start at or before t: a span of an earlier start ends no later than this one's.
      const e = expression(freeze.expression, freeze.tz);
      e.reset(new Date(t + 1));
      const start = e.prev().getTime();
      if (t < start + freeze.durationMs) span = { start, end: start + freeze.durationMs, freeze };
    }
    if (span && (!found || span.end > found.end)) found = span;
  }
  return found;
}

/**
 * When `t` falls in a freeze: the first instant after it outside every freeze (spans that touch or
 * overlap are one), and the freeze `t` falls in. Null when `t` is not frozen.
 */
export function thaw(freezes: readonly Freeze[] | undefined, t: number): { until: number; freeze: Freeze } | null {
  if (!freezes?.length) return null;
  const first = freezeAt(freezes, t);
  if (!first) return null;
  let until = first.end;
  // Bounded: validation keeps every recurring span shorter than its cron's gap.
  for (let i = 0; i < 1_000; i++) {
    const span = freezeAt(freezes, until);
    if (!span) break;
    until = span.end;
  }
  return { until, freeze: first.freeze };
}
