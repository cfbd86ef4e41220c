// Due dates: cadence from the last success, never before now, inside the rotation window (in its
// time zone, across midnight and DST changes), with a jitter that is stable per secret id.
import { describe, expect, it } from 'vitest';
import { dueDetails, nextDue, unitHash } from '../../../src/policy/schedule.js';
import { parseWindow } from '../../../src/policy/window.js';
import type { ResolvedSecret, RotationWindow, Weekday } from '../../../src/policy/types.js';

type Timed = Pick<ResolvedSecret, 'id' | 'schedule' | 'window' | 'jitterMs'>;

function win(days: Weekday[] | undefined, hours: string, tz: string): RotationWindow {
  const parsed = parseWindow({ ...(days ? { days } : {}), hours, tz });
  if (!('window' in parsed)) throw new Error('bad window in test');
  return parsed.window;
}

function secret(over: Partial<Timed> = {}): Timed {
  return { id: 'team/db', schedule: { kind: 'interval', ms: 30 * 86_400_000, text: '30d' }, window: undefined, jitterMs: 0, ...over };
}

const at = (iso: string) => new Date(iso);
const iso = (d: Date) => d.toISOString();

describe('nextDue', () => {
  it('makes a secret that was never rotated due now', () => {
    expect(iso(nextDue({ secret: secret(), lastSuccessAt: null, now: at('2025-06-02T10:00:00Z') }))).toBe('2025-06-02T10:00:00.000Z');
  });

  it('adds the interval to the last success', () => {
    expect(iso(nextDue({ secret: secret(), lastSuccessAt: at('2025-06-01T10:00:00Z'), now: at('2025-06-02T10:00:00Z') }))).toBe(
      '2025-07-01T10:00:00.000Z',
    );
  });

  it('takes the first cron occurrence after the last success, in the cron time zone', () => {
    const s = secret({ schedule: { kind: 'cron', expression: '0 3 * * 1', tz: 'Europe/Berlin' } });
    // Monday 2025-06-02 03:00 Berlin (CEST, +2) is 01:00Z; a success at exactly that time waits a week.
    expect(iso(nextDue({ secret: s, lastSuccessAt: at('2025-06-02T01:00:00Z'), now: at('2025-06-02T01:05:00Z') }))).toBe(
      '2025-06-09T01:00:00.000Z',
    );
    expect(iso(nextDue({ secret: s, lastSuccessAt: at('2025-05-31T12:00:00Z'), now: at('2025-05-31T12:05:00Z') }))).toBe(
      '2025-06-02T01:00:00.000Z',
    );
  });

  it('makes an overdue secret due now, not in the past, and says it is overdue', () => {
    const d = dueDetails({ secret: secret(), lastSuccessAt: at('2025-04-01T00:00:00Z'), now: at('2025-06-02T10:00:00Z') });
    expect(iso(d.due)).toBe('2025-06-02T10:00:00.000Z');
    expect(iso(d.base)).toBe('2025-05-01T00:00:00.000Z');
    expect(d.overdue).toBe(true);
  });

  it('moves a due time outside the window to the next opening, in the window time zone', () => {
    const s = secret({ window: win(['mon', 'tue', 'wed', 'thu'], '02:00-05:00', 'Europe/Berlin') });
    // Friday 2025-06-06 12:00Z → Monday 2025-06-09 02:00 CEST = 00:00Z.
    expect(iso(nextDue({ secret: s, lastSuccessAt: null, now: at('2025-06-06T12:00:00Z') }))).toBe('2025-06-09T00:00:00.000Z');
  });

  it('leaves a due time that is inside the window where it is', () => {
    const s = secret({ window: win(['mon'], '02:00-05:00', 'Europe/Berlin') });
    expect(iso(nextDue({ secret: s, lastSuccessAt: null, now: at('2025-06-09T01:30:00Z') }))).toBe('2025-06-09T01:30:00.000Z');
  });

  it('keeps a window that crosses midnight open after midnight, on the day after a listed day', () => {
    const s = secret({ window: win(['fri'], '22:00-02:00', 'UTC') });
    // Saturday 01:00 is inside Friday's opening.
    expect(iso(nextDue({ secret: s, lastSuccessAt: null, now: at('2025-06-07T01:00:00Z') }))).toBe('2025-06-07T01:00:00.000Z');
    // Saturday 03:00 is after it: next Friday 22:00.
    expect(iso(nextDue({ secret: s, lastSuccessAt: null, now: at('2025-06-07T03:00:00Z') }))).toBe('2025-06-13T22:00:00.000Z');
    // Friday 21:00 waits for 22:00 the same evening.
    expect(iso(nextDue({ secret: s, lastSuccessAt: null, now: at('2025-06-06T21:00:00Z') }))).toBe('2025-06-06T22:00:00.000Z');
  });

  it('skips a window that the spring DST change removes, and starts the next day at local time', () => {
    // Europe/Berlin skips 02:00-03:00 on 2024-03-31: that day's 02:00-03:00 window does not exist.
    const s = secret({ window: win(undefined, '02:00-03:00', 'Europe/Berlin') });
    expect(iso(nextDue({ secret: s, lastSuccessAt: null, now: at('2024-03-30T03:00:00Z') }))).toBe('2024-04-01T00:00:00.000Z');
  });

  it('measures a window across the spring DST change in local wall-clock time', () => {
    const s = secret({ window: win(undefined, '01:00-04:00', 'Europe/Berlin'), jitterMs: 10 * 3_600_000, id: 'x' });
    // 01:00 CET = 00:00Z to 04:00 CEST = 02:00Z: two real hours; jitter wraps inside them.
    const due = nextDue({ secret: s, lastSuccessAt: null, now: at('2024-03-30T23:30:00Z') }).getTime();
    expect(due).toBeGreaterThanOrEqual(Date.parse('2024-03-31T00:00:00Z'));
    expect(due).toBeLessThan(Date.parse('2024-03-31T02:00:00Z'));
  });

  it('opens the autumn DST window at its first 02:00 and closes it at 03:00 standard time', () => {
    // On 2024-10-27 Berlin's clocks go from 03:00 CEST back to 02:00 CET: 02:00 CEST = 00:00Z.
    const s = secret({ window: win(['sun'], '02:00-03:00', 'Europe/Berlin') });
    expect(iso(nextDue({ secret: s, lastSuccessAt: null, now: at('2024-10-26T12:00:00Z') }))).toBe('2024-10-27T00:00:00.000Z');
    // 01:30Z is 02:30 CET, still inside the (two hour) opening.
    expect(iso(nextDue({ secret: s, lastSuccessAt: null, now: at('2024-10-27T01:30:00Z') }))).toBe('2024-10-27T01:30:00.000Z');
  });

  it('adds the same jitter for the same id every time, below the jitter bound', () => {
    const s = secret({ id: 'payments/db-app', jitterMs: 3_600_000 });
    const now = at('2025-06-02T10:00:00Z');
    const a = nextDue({ secret: s, lastSuccessAt: null, now }).getTime();
    const b = nextDue({ secret: s, lastSuccessAt: null, now }).getTime();
    expect(a).toBe(b);
    expect(a - now.getTime()).toBeGreaterThanOrEqual(0);
    expect(a - now.getTime()).toBeLessThan(3_600_000);
    expect(a - now.getTime()).toBe(Math.floor(unitHash('payments/db-app') * 3_600_000));
  });

  it('spreads different ids over the jitter range', () => {
    const offsets = new Set(Array.from({ length: 50 }, (_, i) => Math.floor(unitHash(`team/s${i}`) * 60)));
    expect(offsets.size).toBeGreaterThan(25);
  });

  it('keeps a jittered due time inside the window opening', () => {
    const s = secret({ id: 'team/late', window: win(['mon'], '02:00-03:00', 'UTC'), jitterMs: 6 * 3_600_000 });
    for (const now of ['2025-06-09T02:59:00Z', '2025-06-08T10:00:00Z', '2025-06-09T02:00:00Z']) {
      const due = nextDue({ secret: s, lastSuccessAt: null, now: at(now) }).getTime();
      expect(due).toBeGreaterThanOrEqual(Date.parse('2025-06-09T02:00:00Z'));
      expect(due).toBeLessThan(Date.parse('2025-06-09T03:00:00Z'));
    }
  });
});
