// The calendar of upcoming rotations: each secret's next due date (from the state database), then
// the ones after it as the scheduler will compute them (src/policy/schedule.ts, the same nextDue:
// cadence, rotation window, stable jitter), grouped by day (UTC) and rotation window.
import { nextDue } from '../policy/schedule.js';
import type { ResolvedSecret } from '../policy/types.js';
import type { UpcomingSecret } from '../state/targets.js';

export const CALENDAR_DAYS = 30;
const DAY = 86_400_000;
/** Occurrences counted per secret and day: a two-minute demo cadence is 720 a day. */
const MAX_PER_DAY = 1_500;
/** All occurrences walked for one page: bounds the work whatever the fleet. */
const MAX_STEPS = 200_000;

export interface CalendarEntry {
  id: string;
  targetKey: string;
  className: string | undefined;
  owner: string | undefined;
  cadence: string;
  /** Rotations of this secret on this day, the first and the last. */
  count: number;
  first: Date;
  last: Date;
  /** Its due date has passed: it is due now (or rotating). */
  late: boolean;
  rotating: boolean;
}

export interface CalendarDay {
  /** 00:00 UTC. */
  day: Date;
  /** By rotation window text ('any time' without one), in order of their first rotation. */
  windows: Array<{ window: string; entries: CalendarEntry[] }>;
  rotations: number;
}

function cadenceText(p: ResolvedSecret): string {
  return p.schedule.kind === 'interval' ? `every ${p.schedule.text}` : `cron ${p.schedule.expression} (${p.schedule.tz})`;
}

/** The last success that makes `nextDue` give the first occurrence at or after `t`. */
function resumeAt(p: ResolvedSecret, t: number): Date {
  return new Date(p.schedule.kind === 'interval' ? t - p.schedule.ms : t - 1);
}

/** The rotations of `secrets` from `now` to `days` later, by day and window. */
export function calendar(secrets: readonly UpcomingSecret[], now: Date, days = CALENDAR_DAYS): CalendarDay[] {
  const horizon = now.getTime() + days * DAY;
  const byDay = new Map<number, Map<string, CalendarEntry[]>>();
  let steps = 0;
  for (const s of secrets) {
    const p = s.policy;
    const window = p.window?.text ?? 'any time';
    const late = s.nextDueAt.getTime() <= now.getTime();
    let at = Math.max(s.nextDueAt.getTime(), now.getTime());
    while (at < horizon && steps < MAX_STEPS) {
      const day = Math.floor(at / DAY) * DAY;
      const entry: CalendarEntry = {
        id: s.id,
        targetKey: s.targetKey,
        className: p.className,
        owner: p.owner,
        cadence: cadenceText(p),
        count: 0,
        first: new Date(at),
        last: new Date(at),
        late: late && at === Math.max(s.nextDueAt.getTime(), now.getTime()),
        rotating: s.rotating,
      };
      // This day's occurrences: each one as the scheduler computes it after the one before.
      while (at < day + DAY && at < horizon && entry.count < MAX_PER_DAY && steps < MAX_STEPS) {
        entry.count++;
        entry.last = new Date(at);
        steps++;
        const next = nextDue({ secret: p, lastSuccessAt: new Date(at), now: new Date(at) }).getTime();
        if (next <= at) break; // a schedule that does not move on: never loop
        at = next;
      }
      if (entry.count >= MAX_PER_DAY && at < day + DAY)
        at = nextDue({ secret: p, lastSuccessAt: resumeAt(p, day + DAY), now: new Date(day + DAY) }).getTime();
      const windows = byDay.get(day) ?? new Map<string, CalendarEntry[]>();
      byDay.set(day, windows);
      const list = windows.get(window) ?? [];
      windows.set(window, list);
      list.push(entry);
      if (at <= entry.last.getTime()) break;
    }
  }
  return [...byDay.entries()]
    .sort(([a], [b]) => a - b)
    .map(([day, windows]) => {
      const groups = [...windows.entries()].map(([window, entries]) => ({
        window,
        entries: entries.sort((a, b) => a.first.getTime() - b.first.getTime() || a.id.localeCompare(b.id)),
      }));
      groups.sort((a, b) => a.entries[0]!.first.getTime() - b.entries[0]!.first.getTime());
      return { day: new Date(day), windows: groups, rotations: groups.reduce((n, g) => n + g.entries.reduce((m, e) => m + e.count, 0), 0) };
    });
}
