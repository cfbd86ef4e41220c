// Times as an on-call engineer reads them, in the CLI and on the dashboard alike: absolute in UTC,
// and relative to now ("in 1m 40s", "3d ago").

const UNITS: ReadonlyArray<[string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
];

/** A duration in its two largest units: `1m 40s`, `3d 4h`, `12s`; under a second `0s`. */
export function duration(ms: number): string {
  const rest = Math.floor(Math.abs(ms) / 1000) * 1000;
  const first = UNITS.findIndex(([, size]) => rest >= size);
  if (first < 0) return '0s';
  const [unit, size] = UNITS[first]!;
  const next = UNITS[first + 1];
  const big = `${Math.floor(rest / size)}${unit}`;
  const small = next ? Math.floor((rest % size) / next[1]) : 0;
  // The next unit down, when it says something: `1m 40s`, `1d` (not `1d 0h`), never `1h 5s`.
  return next && small > 0 ? `${big} ${small}${next[0]}` : big;
}

/** `in 1m 40s`, `3d ago`, or `now` within a second. */
export function relative(at: Date, now: Date): string {
  const ms = at.getTime() - now.getTime();
  if (Math.abs(ms) < 1000) return 'now';
  return ms > 0 ? `in ${duration(ms)}` : `${duration(ms)} ago`;
}

/** `2026-12-03 12:57:15Z`: UTC, to the second. */
export function absolute(at: Date): string {
  return at
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** `2026-12-03 12:57:15Z (3d ago)`, or `-` for no time. */
export function both(at: Date | null, now: Date): string {
  return at ? `${absolute(at)} (${relative(at, now)})` : '-';
}
