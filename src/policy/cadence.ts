// Cadences: an interval (`30d`) or a cron expression with a time zone, parsed by cron-parser,
// the parser BullMQ's job schedulers use, so what `plan` previews is what runs.
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { IANAZone } from 'luxon';
import { DURATION_EXAMPLES, parseDuration } from './duration.js';
import type { Schedule } from './types.js';

export interface CadenceProblem {
  code: 'invalid-cadence' | 'invalid-cron' | 'invalid-timezone';
  /** Below the cadence field: [] for the field itself, ['cron'] or ['tz'] inside a cron map. */
  sub: Array<'cron' | 'tz'>;
  message: string;
  hint: string;
}

const zoneCache = new Map<string, boolean>();

export function isValidTimeZone(tz: string): boolean {
  let ok = zoneCache.get(tz);
  if (ok === undefined) {
    ok = IANAZone.isValidZone(tz);
    zoneCache.set(tz, ok);
  }
  return ok;
}

export const TIME_ZONE_HINT = 'use an IANA time zone name such as UTC, Europe/Berlin or America/New_York';

/** A Schedule from what the policy says; `defaultTz` applies to cron without its own tz. */
export function parseCadence(raw: unknown, defaultTz: string): { schedule: Schedule } | { problem: CadenceProblem } {
  if (typeof raw === 'string') {
    const ms = parseDuration(raw);
    if (ms === undefined || ms <= 0) {
      return {
        problem: {
          code: 'invalid-cadence',
          sub: [],
          message: `cadence \`${raw}\` is not an interval`,
          hint: `write an interval such as ${DURATION_EXAMPLES}, or { cron: "0 3 * * 1", tz: Europe/Berlin }`,
        },
      };
    }
    return { schedule: { kind: 'interval', ms, text: raw } };
  }
  // The object form was shape-checked already ({ cron: string, tz?: string }).
  const { cron, tz = defaultTz } = raw as { cron: string; tz?: string };
  if (!isValidTimeZone(tz)) {
    return { problem: { code: 'invalid-timezone', sub: ['tz'], message: `unknown time zone \`${tz}\``, hint: TIME_ZONE_HINT } };
  }
  const error = cronError(cron, tz);
  if (error) {
    return {
      problem: {
        code: 'invalid-cron',
        sub: ['cron'],
        message: `cron expression "${cron}" is invalid: ${error}`,
        hint: 'five fields: minute hour day-of-month month day-of-week, e.g. "0 3 * * 1" (Mondays 03:00)',
      },
    };
  }
  return { schedule: { kind: 'cron', expression: cron, tz } };
}

// Parsed expressions, reused with reset(): parsing is the expensive part and policies repeat a few.
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

function cronError(cron: string, tz: string): string | undefined {
  if (cron.trim().split(/\s+/).length < 5 && !cron.startsWith('@')) return 'it needs five fields';
  try {
    const e = expression(cron, tz);
    e.reset(new Date(Date.UTC(2025, 0, 1)));
    e.next();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The first occurrence strictly after `after`. */
export function nextCronOccurrence(cron: string, tz: string, after: Date): Date {
  const e = expression(cron, tz);
  e.reset(after);
  return e.next().toDate();
}

const gapCache = new Map<string, number>();

/**
 * The shortest time between two occurrences over a year (from a fixed date, so the answer is
 * stable): "grace longer than cadence" compares against it, DST days included.
 */
export function shortestCronGapMs(cron: string, tz: string): number {
  const key = `${tz} ${cron}`;
  const hit = gapCache.get(key);
  if (hit !== undefined) return hit;
  const e = expression(cron, tz);
  const from = Date.UTC(2025, 0, 1);
  e.reset(new Date(from));
  let prev = e.next().getTime();
  let shortest = Infinity;
  // A year covers every month length and both DST switches; 2,000 steps bound minutely crons.
  for (let i = 0; i < 2_000 && prev < from + 366 * 86_400_000; i++) {
    const next = e.next().getTime();
    shortest = Math.min(shortest, next - prev);
    prev = next;
  }
  gapCache.set(key, shortest);
  return shortest;
}

/**
 * The shortest gaps worked out so far: a policy pass hands them to its worker thread, since
 * each takes cron-parser a year of steps (a few hundred ms for a weekly cron with a time zone).
 */
export function knownCronGaps(): Array<[string, number]> {
  return [...gapCache];
}

export function addCronGaps(gaps: ReadonlyArray<[string, number]>): void {
  for (const [key, ms] of gaps) gapCache.set(key, ms);
}

/** How often a schedule fires at most: the interval, or the shortest cron gap. */
export function shortestCadenceMs(schedule: Schedule): number {
  return schedule.kind === 'interval' ? schedule.ms : shortestCronGapMs(schedule.expression, schedule.tz);
}

export function describeSchedule(schedule: Schedule): string {
  return schedule.kind === 'interval' ? `every ${schedule.text}` : `cron "${schedule.expression}" ${schedule.tz}`;
}
