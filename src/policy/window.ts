// Rotation windows: parsing `{ days, hours: "02:00-05:00", tz }`, and finding the opening of a
// window at or after an instant, in the window's time zone and safe across DST changes (luxon).
import { DateTime } from 'luxon';
import { TIME_ZONE_HINT, isValidTimeZone } from './cadence.js';
import { WEEKDAYS } from './schema.js';
import type { RotationWindow, Weekday } from './types.js';

export interface WindowProblem {
  code: 'invalid-window' | 'invalid-timezone';
  sub: 'hours' | 'tz';
  message: string;
  hint: string;
}

const HOURS = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$/;

export function parseWindow(raw: {
  days?: Weekday[];
  hours?: string;
  tz?: string;
}): { window: RotationWindow } | { problems: WindowProblem[] } {
  const problems: WindowProblem[] = [];
  const tz = raw.tz ?? 'UTC';
  if (!isValidTimeZone(tz))
    problems.push({ code: 'invalid-timezone', sub: 'tz', message: `unknown time zone \`${tz}\``, hint: TIME_ZONE_HINT });
  let startMinute = 0;
  let endMinute = 1440;
  if (raw.hours !== undefined) {
    const m = HOURS.exec(raw.hours);
    const end = m ? Number(m[3]) * 60 + Number(m[4]) : NaN;
    if (!m || end > 1440) {
      problems.push({
        code: 'invalid-window',
        sub: 'hours',
        message: `window hours \`${raw.hours}\` are not HH:MM-HH:MM`,
        hint: 'write 24-hour local times such as "02:00-05:00"; a window may cross midnight ("22:00-02:00")',
      });
    } else {
      startMinute = Number(m[1]) * 60 + Number(m[2]);
      endMinute = end;
      if (startMinute === endMinute % 1440) {
        problems.push({
          code: 'invalid-window',
          sub: 'hours',
          message: `window hours \`${raw.hours}\` start and end at the same time`,
          hint: 'leave `hours` out for the whole day, or give a window that lasts a while',
        });
      }
    }
  }
  if (problems.length) return { problems };
  const days = raw.days ? WEEKDAYS.filter((d) => raw.days?.includes(d)) : [...WEEKDAYS];
  return { window: { days, startMinute, endMinute, tz, text: windowText(days, raw.hours ?? '00:00-24:00', tz) } };
}

function windowText(days: Weekday[], hours: string, tz: string): string {
  const dayText = days.length === 7 ? 'daily' : days.join(',');
  return `${dayText} ${hours} ${tz}`;
}

export interface Opening {
  start: number;
  end: number;
}

const DAY_BITS = new WeakMap<RotationWindow, number>();

function dayBits(w: RotationWindow): number {
  let bits = DAY_BITS.get(w);
  if (bits === undefined) {
    bits = 0;
    for (const d of w.days) bits |= 1 << (WEEKDAYS.indexOf(d) + 1);
    DAY_BITS.set(w, bits);
  }
  return bits;
}

/** Sets a wall-clock time on a local day; luxon moves a time that DST skips forward. */
function at(day: DateTime, minute: number): number {
  if (minute >= 1440) return day.plus({ days: 1 }).startOf('day').toMillis();
  return day.set({ hour: Math.floor(minute / 60), minute: minute % 60, second: 0, millisecond: 0 }).toMillis();
}

// Many secrets share a window object (their class's) and, in a plan, the same instant: each
// opening is computed once per window and instant.
const openingCache = new WeakMap<RotationWindow, Map<number, Opening | null>>();

/**
 * The opening of `w` that contains `t`, or else the first one after it. An opening starts on a
 * listed day at the start time (in w.tz) and ends at the end time, the next day when the window
 * crosses midnight. Openings that DST makes empty are skipped. Null only for a window without days.
 */
export function openingAtOrAfter(w: RotationWindow, t: number): Opening | null {
  let byInstant = openingCache.get(w);
  if (!byInstant) {
    byInstant = new Map();
    openingCache.set(w, byInstant);
  }
  const hit = byInstant.get(t);
  if (hit !== undefined) return hit;
  const result = findOpening(w, t);
  if (byInstant.size > 10_000) byInstant.clear();
  byInstant.set(t, result);
  return result;
}

function findOpening(w: RotationWindow, t: number): Opening | null {
  const bits = dayBits(w);
  const crosses = w.endMinute <= w.startMinute;
  // Start a day early: yesterday's opening may still be open after midnight.
  let day = DateTime.fromMillis(t, { zone: w.tz }).startOf('day').minus({ days: 1 });
  for (let i = 0; i < 10; i++, day = day.plus({ days: 1 })) {
    if (!(bits & (1 << day.weekday))) continue;
    const start = at(day, w.startMinute);
    const end = crosses ? at(day.plus({ days: 1 }), w.endMinute) : at(day, w.endMinute);
    if (end <= start || t >= end) continue;
    return { start, end };
  }
  return null;
}
