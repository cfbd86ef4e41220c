// Scalars and one-line flow collections for the fast policy parser, resolved by the YAML 1.2
// core schema exactly as the `yaml` library does; forms we do not need (hex, .inf, 1e3, escapes)
// bail so the full parser takes the file.
import { tooDeep, tooManyKeys, type PolicyLimits } from '../limits.js';
import type { Pos, Positions } from './fast-parse.js';

class Bail {}
const BAIL = new Bail();

export function bail(): never {
  throw BAIL;
}

export function isBail(err: unknown): boolean {
  return err === BAIL;
}

/** Characters that cannot start a plain scalar (YAML c-indicator), minus the ones handled apart. */
const NOT_PLAIN_START = ',]}#&*!|>%@`';
const INT = /^[-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;
const RARE_NUMBER = /^[-+]?(?:0[ox]|\.(?:inf|Inf|INF|nan|NaN|NAN)$)|^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE]/;

/** The core schema's null and boolean words; undefined for anything else. */
function word(text: string): null | boolean | undefined {
  switch (text) {
    case '~':
    case 'null':
    case 'Null':
    case 'NULL':
      return null;
    case 'true':
    case 'True':
    case 'TRUE':
      return true;
    case 'false':
    case 'False':
    case 'FALSE':
      return false;
    default:
      return undefined;
  }
}

/** Whether `text` may start a plain scalar in our subset (`-x` may, `- x` and `&a` may not). */
export function plainStartOk(text: string): boolean {
  const c = text[0];
  if (c === undefined || NOT_PLAIN_START.includes(c)) return false;
  if (c === '-' || c === '?' || c === ':') return text.length > 1 && text[1] !== ' ';
  return true;
}

/** Keys must resolve to the same string in every schema: no numbers, booleans, nulls. */
export function plainKeyOk(key: string): boolean {
  const c = key.charCodeAt(0);
  // 0-9 + - . ~
  if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46 || c === 126) return false;
  return key !== '__proto__' && (key.length > 5 || word(key) === undefined);
}

// Keys repeat across every secret of every file: reusing one string per key spares slicing it and
// V8 internalizing it each time it becomes a property name.
const keyCache = new Map<number, string[]>();
let cachedKeys = 0;

/** The key `s[start, end)`, validated (plainKeyOk) and shared with earlier identical keys. */
export function internKey(s: string, start: number, end: number): string {
  const bucket = (end - start) * 65_536 + s.charCodeAt(start);
  const list = keyCache.get(bucket);
  if (list) {
    for (const k of list) if (s.startsWith(k, start)) return k;
  }
  const key = s.slice(start, end);
  if (!plainKeyOk(key)) bail();
  // Short lists: a map of 50,000 distinct keys must not scan a long one for each key.
  if (cachedKeys < 2_048 && (list?.length ?? 0) < 8) {
    cachedKeys++;
    if (list) list.push(key);
    else keyCache.set(bucket, [key]);
  }
  return key;
}

export function resolvePlain(text: string): unknown {
  const c = text.charCodeAt(0);
  // Only text starting with 0-9 + - . ~ n N t T f F can be anything but a string.
  const maybe =
    (c >= 48 && c <= 57) ||
    c === 43 ||
    c === 45 ||
    c === 46 ||
    c === 126 ||
    c === 110 ||
    c === 78 ||
    c === 116 ||
    c === 84 ||
    c === 102 ||
    c === 70;
  if (!maybe) return text;
  if (text.length <= 5) {
    const w = word(text);
    if (w !== undefined) return w;
  }
  if (INT.test(text)) return Number(text);
  if (FLOAT.test(text)) return parseFloat(text);
  if (RARE_NUMBER.test(text)) bail();
  return text;
}

const SPACE = 32;

/** Quoted scalars and flow collections between `pos` and `end` (one line). */
export class FlowScanner {
  private pos = 0;
  private end = 0;
  private depth = 0;
  private line = 0;
  private lineStart = 0;
  constructor(
    private readonly s: string,
    private readonly limits: PolicyLimits,
    private readonly rec?: Positions,
  ) {}

  /**
   * Scans `pos` to `end` next (one scanner serves a whole file: fewer allocations), inside `depth`
   * block collections.
   */
  reset(pos: number, end: number, depth: number, line: number, lineStart: number): void {
    this.pos = pos;
    this.end = end;
    this.depth = depth;
    this.line = line;
    this.lineStart = lineStart;
  }

  private here(): Pos {
    return { line: this.line, col: this.pos - this.lineStart + 1 };
  }

  /** Entering a collection: refused past the depth limit, before recursion could overflow the stack. */
  private enter(): void {
    if (++this.depth > this.limits.maxDepth) throw tooDeep(this.limits, this.pos);
  }

  node(inFlow: boolean): unknown {
    this.spaces();
    const c = this.s[this.pos];
    if (c === '"') return this.doubleQuoted();
    if (c === "'") return this.singleQuoted();
    if (c === '[') return this.flowSeq();
    if (c === '{') return this.flowMap();
    if (!inFlow) bail();
    return this.flowPlain();
  }

  /** Only spaces and a comment may follow the value on its line. */
  endOfLine(): void {
    let p = this.pos;
    while (p < this.end && this.s.charCodeAt(p) === SPACE) p++;
    if (p < this.end && (p === this.pos || this.s[p] !== '#')) bail();
  }

  private spaces(): void {
    while (this.pos < this.end && this.s.charCodeAt(this.pos) === SPACE) this.pos++;
  }

  private doubleQuoted(): string {
    const close = this.s.indexOf('"', this.pos + 1);
    if (close < 0 || close >= this.end) bail();
    const value = this.s.slice(this.pos + 1, close);
    if (value.includes('\\')) bail();
    this.pos = close + 1;
    return value;
  }

  private singleQuoted(): string {
    let value = '';
    let from = this.pos + 1;
    for (;;) {
      const q = this.s.indexOf("'", from);
      if (q < 0 || q >= this.end) bail();
      value += this.s.slice(from, q);
      if (this.s[q + 1] !== "'") {
        this.pos = q + 1;
        return value;
      }
      value += "'";
      from = q + 2;
    }
  }

  private flowSeq(): unknown[] {
    this.enter();
    const items: unknown[] = [];
    const at: Pos[] | undefined = this.rec ? [] : undefined;
    if (at) this.rec?.set(items, at);
    this.pos++;
    for (;;) {
      this.spaces();
      if (this.s[this.pos] === ']') break;
      if (items.length === this.limits.maxKeys) throw tooManyKeys(this.limits, this.pos);
      at?.push(this.here());
      items.push(this.node(true));
      this.spaces();
      const c = this.s[this.pos];
      if (c === ',') this.pos++;
      else if (c !== ']') bail();
    }
    this.pos++;
    this.depth--;
    return items;
  }

  private flowMap(): Record<string, unknown> {
    this.enter();
    const map: Record<string, unknown> = {};
    const at = this.rec ? new Map<string, { key: Pos; value: Pos }>() : undefined;
    if (at) this.rec?.set(map, at);
    this.pos++;
    let keys = 0;
    for (;;) {
      this.spaces();
      if (this.s[this.pos] === '}') break;
      if (++keys > this.limits.maxKeys) throw tooManyKeys(this.limits, this.pos);
      const keyPos = at && this.here();
      const key = this.flowKey();
      if (Object.hasOwn(map, key)) bail();
      this.spaces();
      const c = this.s[this.pos];
      const valuePos = at && this.here();
      map[key] = c === ',' || c === '}' ? null : this.node(true);
      if (at && keyPos && valuePos) at.set(key, { key: keyPos, value: map[key] === null ? keyPos : valuePos });
      this.spaces();
      const sep = this.s[this.pos];
      if (sep === ',') this.pos++;
      else if (sep !== '}') bail();
    }
    this.pos++;
    this.depth--;
    return map;
  }

  /** A plain key, then `:` followed by a space, `,`, `}` or the end of the line. */
  private flowKey(): string {
    const s = this.s;
    const start = this.pos;
    let p = start;
    while (p < this.end && isKeyChar(s.charCodeAt(p))) p++;
    if (p === start) bail();
    const key = internKey(s, start, p);
    while (s.charCodeAt(p) === SPACE) p++;
    if (s[p] !== ':' || p >= this.end) bail();
    const after = s[p + 1];
    if (p + 1 < this.end && after !== ' ' && after !== ',' && after !== '}') bail();
    this.pos = p + 1;
    return key;
  }

  private flowPlain(): unknown {
    const s = this.s;
    const start = this.pos;
    let p = start;
    for (; p < this.end; p++) {
      const ch = s[p];
      if (ch === ',' || ch === ']' || ch === '}') break;
      if (ch === '[' || ch === '{' || (ch === '#' && s.charCodeAt(p - 1) === SPACE)) bail();
      if (ch === ':') {
        const next = s[p + 1];
        if (p + 1 >= this.end || next === ' ' || next === ',' || next === ']' || next === '}') bail();
      }
    }
    let stop = p;
    while (stop > start && s.charCodeAt(stop - 1) === SPACE) stop--;
    const text = s.slice(start, stop);
    if (!plainStartOk(text) || p >= this.end) bail();
    this.pos = p;
    return resolvePlain(text);
  }
}

/** A-Z a-z 0-9 _ $ . / - : the characters of the identifier-like keys policies use. */
export function isKeyChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36 || c === 46 || c === 47 || c === 45;
}
