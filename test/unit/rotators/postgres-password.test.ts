// Generated passwords: per-secret rules, printable ASCII only, uniform over the alphabet.
import { describe, expect, it } from 'vitest';
import { DEFAULT_EXCLUDED_CHARACTERS } from '../../../src/rotator/params.js';
import { MIN_ENTROPY_BITS, entropyBits, generatePassword, passwordAlphabet } from '../../../src/rotator/password.js';

describe('password generation', () => {
  it('follows the length and never uses an excluded character', () => {
    const rules = { length: 40, exclude: `${DEFAULT_EXCLUDED_CHARACTERS}0Oo1lI` };
    for (let i = 0; i < 200; i++) {
      const password = generatePassword(rules);
      expect(password).toHaveLength(40);
      for (const c of rules.exclude) expect(password).not.toContain(c);
    }
  });

  it('uses printable ASCII without space only, so SASLprep leaves it unchanged', () => {
    const alphabet = passwordAlphabet('');
    expect(alphabet).toHaveLength(94);
    expect(alphabet.every((c) => c >= '!' && c <= '~')).toBe(true);
    expect(generatePassword({ length: 256, exclude: '' })).toMatch(/^[\x21-\x7e]{256}$/);
  });

  it('draws every character of the alphabet about equally often', () => {
    const rules = { length: 64, exclude: DEFAULT_EXCLUDED_CHARACTERS };
    const alphabet = passwordAlphabet(rules.exclude);
    const counts = new Map<string, number>(alphabet.map((c) => [c, 0]));
    const draws = 1_500 * rules.length;
    for (let i = 0; i < 1_500; i++) for (const c of generatePassword(rules)) counts.set(c, (counts.get(c) ?? 0) + 1);
    const expected = draws / alphabet.length;
    const sigma = Math.sqrt(expected * (1 - 1 / alphabet.length));
    for (const n of counts.values()) expect(Math.abs(n - expected)).toBeLessThan(6 * sigma);
    // A chi-square far beyond its degrees of freedom would mean a biased draw (e.g. modulo bias).
    const chi2 = [...counts.values()].reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(alphabet.length * 2);
  });

  it('measures entropy as length × log2(alphabet size)', () => {
    expect(entropyBits({ length: 16, exclude: DEFAULT_EXCLUDED_CHARACTERS })).toBeGreaterThanOrEqual(MIN_ENTROPY_BITS);
    const digitsOnly = passwordAlphabet('')
      .filter((c) => !/[0-9]/.test(c))
      .join('');
    expect(entropyBits({ length: 16, exclude: digitsOnly })).toBeCloseTo(16 * Math.log2(10));
    expect(entropyBits({ length: 64, exclude: passwordAlphabet('').join('') })).toBe(0);
  });
});
