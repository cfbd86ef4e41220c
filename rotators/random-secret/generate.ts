// Random values for API keys, signing keys and webhook secrets: uniform draws from node:crypto.
import { randomBytes, randomInt } from 'node:crypto';
import type { RandomSecretParams } from './schema.js';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** `!` through `~`: printable ASCII without space, so no consumer trims part of a key. */
const PRINTABLE = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).join('');

type Rules = RandomSecretParams['generate'];

/**
 * A fresh value under `rules`. Character alphabets draw `length` characters with crypto.randomInt
 * (rejection sampling: no character more likely than another); byte alphabets draw `length`
 * random bytes and encode them. `encoding: base64` then base64-encodes the text as stored.
 */
export function generateValue(rules: Rules): string {
  let text: string;
  switch (rules.alphabet) {
    case 'alnum':
      text = draw(ALNUM, rules.length);
      break;
    case 'ascii-printable':
      text = draw(PRINTABLE, rules.length);
      break;
    case 'hex':
    case 'base64':
    case 'base64url':
      text = randomBytes(rules.length).toString(rules.alphabet);
      break;
  }
  return rules.encoding === 'base64' ? Buffer.from(text, 'utf8').toString('base64') : text;
}

/** Bits of randomness in one value: what makes a key unguessable, whatever its encoding. */
export function entropyBits(rules: Rules): number {
  switch (rules.alphabet) {
    case 'alnum':
      return rules.length * Math.log2(ALNUM.length);
    case 'ascii-printable':
      return rules.length * Math.log2(PRINTABLE.length);
    default:
      return rules.length * 8;
  }
}

/** True when `text` is what generateValue makes under `rules` (shape only: alphabet and size). */
export function matchesRules(text: string, rules: Rules): boolean {
  let raw = text;
  if (rules.encoding === 'base64') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return false;
    raw = Buffer.from(text, 'base64').toString('utf8');
  }
  switch (rules.alphabet) {
    case 'alnum':
      return raw.length === rules.length && [...raw].every((c) => ALNUM.includes(c));
    case 'ascii-printable':
      return raw.length === rules.length && [...raw].every((c) => PRINTABLE.includes(c));
    case 'hex':
      return /^[0-9a-f]*$/.test(raw) && raw.length === rules.length * 2;
    case 'base64':
      return /^[A-Za-z0-9+/]*={0,2}$/.test(raw) && Buffer.from(raw, 'base64').length === rules.length;
    case 'base64url':
      return /^[A-Za-z0-9_-]*$/.test(raw) && Buffer.from(raw, 'base64url').length === rules.length;
  }
}

function draw(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}
