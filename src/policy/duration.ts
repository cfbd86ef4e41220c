// Durations as policies write them: `500ms`, `30s`, `10m`, `12h`, `30d`, `2w`, and combinations
// such as `1h30m` (units largest first, each at most once).

const UNITS = [
  ['w', 604_800_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
] as const;

const UNIT_INDEX = new Map<string, number>(UNITS.map(([unit], i) => [unit, i]));
const PART = /(\d+)(ms|w|d|h|m|s)/gy;

/** What a policy author should write; shared by every message about a malformed duration. */
export const DURATION_EXAMPLES = '500ms, 30s, 10m, 12h, 30d, 2w or 1h30m';

// Policies repeat the same few durations thousands of times; parsing each text once keeps
// validating 100k secrets cheap.
const cache = new Map<string, number | null>();

/** Milliseconds of `text`, or undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const hit = cache.get(text);
  if (hit !== undefined) return hit ?? undefined;
  const ms = parseUncached(text);
  if (cache.size < 10_000) cache.set(text, ms ?? null);
  return ms;
}

function parseUncached(text: string): number | undefined {
  if (text.length === 0) return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let last = -1;
  let match: RegExpExecArray | null;
  while ((match = PART.exec(text)) !== null) {
    const unit = UNIT_INDEX.get(match[2] ?? '');
    // Units must go from largest to smallest, so `30m1h` and `10m10m` are typos, not sums.
    if (unit === undefined || unit <= last) return undefined;
    last = unit;
    total += Number(match[1]) * (UNITS[unit]?.[1] ?? 0);
    if (PART.lastIndex === text.length) return Number.isSafeInteger(total) ? total : undefined;
  }
  return undefined;
}

const formatted = new Map<number, string>();

/** The shortest text for `ms` in the policy syntax, e.g. 5_400_000 → `1h30m`. */
export function formatDuration(ms: number): string {
  let text = formatted.get(ms);
  if (text === undefined) {
    text = formatUncached(ms);
    if (formatted.size < 10_000) formatted.set(ms, text);
  }
  return text;
}

function formatUncached(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let text = '';
  for (const [unit, size] of UNITS) {
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return text;
}
