// Password generation shared by the rotators that make passwords (postgres, redis-acl,
// aws-rds-master): printable ASCII only, uniformly random, per-secret rules, a minimum entropy.
import { randomInt } from 'node:crypto';
import { generateRulesSchema, type GenerateRules } from './params.js';

/**
 * Passwords weaker than this are refused by the schema. 96 bits admits the shortest length the
 * rules allow (16) with the default exclusions (88 characters: 103 bits) and refuses degenerate
 * alphabets (16 digits: 53 bits).
 */
export const MIN_ENTROPY_BITS = 96;

/** `!` through `~`: printable ASCII without space, so SASLprep leaves every password unchanged. */
const PRINTABLE = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i));

/** The characters a password may use under `exclude`, in code point order. */
// Policies repeat a handful of exclusion sets across thousands of secrets: compute each once.
const alphabets = new Map<string, readonly string[]>();

export function passwordAlphabet(exclude: string): readonly string[] {
  let alphabet = alphabets.get(exclude);
  if (!alphabet) {
    const excluded = new Set(exclude);
    alphabet = PRINTABLE.filter((c) => !excluded.has(c));
    if (alphabets.size < 1000) alphabets.set(exclude, alphabet);
  }
  return alphabet;
}

/** Bits of randomness in one password generated under `rules`. */
export function entropyBits(rules: GenerateRules): number {
  const size = passwordAlphabet(rules.exclude).length;
  return size < 2 ? 0 : rules.length * Math.log2(size);
}

/**
 * A fresh password: each character drawn independently and uniformly from the alphabet.
 * crypto.randomInt rejects out-of-range draws instead of reducing them modulo the alphabet size,
 * so no character is more likely than another.
 */
export function generatePassword(rules: GenerateRules): string {
  const alphabet = passwordAlphabet(rules.exclude);
  if (alphabet.length < 2) throw new Error('the password alphabet is empty after exclusions');
  let out = '';
  for (let i = 0; i < rules.length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** True when every character is printable ASCII (space included): the passwords a verifier can be built for. */
export function isPrintableAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}

/** Password rules as a policy gives them, refused when `exclude` leaves passwords too weak. */
export const strongGenerateRulesSchema = generateRulesSchema.refine((rules) => entropyBits(rules) >= MIN_ENTROPY_BITS, {
  message: `length and exclude leave too little randomness: a password needs at least ${MIN_ENTROPY_BITS} bits (length × log2(alphabet size)); lengthen it or exclude fewer characters`,
});
