// Relative times as the CLI prints them.
import { describe, expect, it } from 'vitest';
import { both, duration, relative } from '../../../../src/cli/format/time.js';

const NOW = new Date('2026-12-03T12:00:00Z');
const at = (ms: number) => new Date(NOW.getTime() + ms);

describe('relative times', () => {
  it('reads as an on-call engineer says it', () => {
    expect(relative(at(100_000), NOW)).toBe('in 1m 40s');
    expect(relative(at(-3 * 86_400_000), NOW)).toBe('3d ago');
    expect(relative(at(-3 * 86_400_000 - 4 * 3_600_000), NOW)).toBe('3d 4h ago');
    expect(relative(at(400), NOW)).toBe('now');
    expect(duration(12_300)).toBe('12s');
    expect(duration(3_600_000 + 5_000)).toBe('1h');
  });

  it('puts the absolute time, in UTC, beside the relative one', () => {
    expect(both(at(-86_400_000), NOW)).toBe('2026-12-02 12:00:00Z (1d ago)');
    expect(both(null, NOW)).toBe('-');
  });
});
