// A fast parser for the plain subset of YAML that policies are written in: block maps and lists,
// one-line flow collections, plain and quoted one-line scalars, comments. Anything else (anchors,
// tags, multi-line scalars, duplicate keys, errors) returns undefined, and the caller parses the
// file with the full `yaml` library instead, which also words the errors. This exists because
// `yaml` builds a full CST and node tree, ~30x slower than 100k secrets can afford. It scans the
// text in place (no per-line strings) for the same reason.
// test/unit/policy/fast-parse.test.ts holds the output to exactly what `yaml` produces.
import { policyLimits, tooDeep, tooManyKeys, type PolicyLimits } from '../limits.js';
import { FlowScanner, bail, internKey, isBail, isKeyChar, plainStartOk, resolvePlain } from './fast-scalars.js';

export interface FastParseResult {
  value: unknown;
  /** 1-based line and column of each block map that is a list item (a secret), by identity. */
  itemPositions: Map<object, { line: number; col: number }>;
}

export interface Pos {
  line: number;
  col: number;
}

/**
 * Where every key and value is, by container (recorded on request only: it costs memory): for a
 * map, each key's position and its value's (the key's when the value is null, as `locate` has it);
 * for a list, each item's.
 */
export type Positions = Map<object, Map<string, { key: Pos; value: Pos }> | Pos[]>;

/** Throws LimitExceeded when the text nests deeper or holds larger maps than `limits` allow. */
export function fastParse(text: string, limits: PolicyLimits = policyLimits(), positions?: Positions): FastParseResult | undefined {
  // Tabs (as indentation or separators), CRs other than CRLF and a BOM are valid YAML but rare:
  // the full parser handles them.
  if (text.includes('\r')) text = text.replace(/\r\n/g, '\n');
  if (text.includes('\t') || text.includes('\r') || text.charCodeAt(0) === 0xfeff) return undefined;
  try {
    return new FastParser(text, limits, positions).parse();
  } catch (err) {
    if (isBail(err)) return undefined;
    throw err;
  }
}

const SPACE = 32;
const HASH = 35;
const DASH = 45;
const COLON = 58;

class FastParser {
  private readonly itemPositions = new Map<object, { line: number; col: number }>();
  /** Start of the next unread line. */
  private next = 0;
  private lineNo = 0;
  // The current content line: its indent, where its content starts and ends (exclusive), and
  // whether there is one (false at the end of the text).
  private has = false;
  private indent = 0;
  private start = 0;
  private end = 0;
  private line = 0;
  /** Where the key ends, set by keyEnd(). */
  private keyStop = 0;
  private readonly flow: FlowScanner;
  /** Block collections open around the current line. */
  private depth = 0;

  constructor(
    private readonly s: string,
    private readonly limits: PolicyLimits,
    private readonly rec?: Positions,
  ) {
    this.flow = new FlowScanner(s, limits, rec);
    this.advance();
  }

  parse(): FastParseResult {
    const value = this.has ? this.block() : null;
    if (this.has) bail();
    return { value, itemPositions: this.itemPositions };
  }

  /** Moves to the next line with content, skipping blank and comment-only lines. */
  private advance(): void {
    const s = this.s;
    while (this.next < s.length) {
      const lineStart = this.next;
      let end = s.indexOf('\n', lineStart);
      if (end < 0) end = s.length;
      this.next = end + 1;
      this.lineNo++;
      let p = lineStart;
      while (s.charCodeAt(p) === SPACE) p++;
      if (p === end || s.charCodeAt(p) === HASH) continue;
      if (p === lineStart) {
        const c = s[p];
        if (c === '%' || s.startsWith('---', p) || s.startsWith('...', p)) bail();
      }
      this.has = true;
      this.indent = p - lineStart;
      this.start = p;
      this.end = end;
      this.line = this.lineNo;
      return;
    }
    this.has = false;
  }

  private block(): unknown {
    if (this.isSeqItem(this.start)) return this.seq(this.indent);
    if (this.keyEnd() < 0) bail();
    return this.map(this.indent);
  }

  /** Position of `at` on the current line (indent - start is kept equal to the line's start). */
  private here(at: number): Pos {
    return { line: this.line, col: at - (this.start - this.indent) + 1 };
  }

  /** Entering a collection: refused past the depth limit, before recursion could overflow the stack. */
  private enter(): void {
    if (++this.depth > this.limits.maxDepth) throw tooDeep(this.limits, this.start);
  }

  private isSeqItem(at: number): boolean {
    if (this.s.charCodeAt(at) !== DASH) return false;
    return at + 1 === this.end || this.s.charCodeAt(at + 1) === SPACE;
  }

  /**
   * When the current content starts with a plain key and `:` (then a space or the end), the
   * index just after the colon; else -1. Keys are the identifier-like names policies use.
   */
  private keyEnd(): number {
    const s = this.s;
    let p = this.start;
    while (p < this.end && isKeyChar(s.charCodeAt(p))) p++;
    if (p === this.start) return -1;
    const keyStop = p;
    while (s.charCodeAt(p) === SPACE) p++;
    if (s.charCodeAt(p) !== COLON || p >= this.end) return -1;
    if (p + 1 < this.end && s.charCodeAt(p + 1) !== SPACE) return -1;
    this.keyStop = keyStop;
    return p + 1;
  }

  private seq(indent: number): unknown[] {
    this.enter();
    const items: unknown[] = [];
    const at: Pos[] | undefined = this.rec ? [] : undefined;
    if (at) this.rec?.set(items, at);
    while (this.has && this.indent >= indent) {
      if (this.indent > indent) bail();
      if (!this.isSeqItem(this.start)) break;
      if (items.length === this.limits.maxKeys) throw tooManyKeys(this.limits, this.start);
      let p = this.start + 1;
      while (this.s.charCodeAt(p) === SPACE) p++;
      if (p >= this.end || this.s.charCodeAt(p) === HASH) {
        const dash = this.here(this.start);
        this.advance();
        at?.push(this.has && this.indent > indent ? this.here(this.start) : dash);
        if (this.has && this.indent > indent) items.push(this.item());
        else items.push(null);
        continue;
      }
      // Re-read the rest of the line as a line of its own, indented to where it starts: that is
      // where `- key: value` puts the keys of the item's map.
      this.indent += p - this.start;
      this.start = p;
      at?.push(this.here(p));
      if (this.isSeqItem(p) || this.keyEnd() >= 0) {
        items.push(this.item());
      } else {
        items.push(this.inline(p));
        this.advance();
        this.noDeeperThan(indent);
      }
    }
    this.depth--;
    return items;
  }

  private item(): unknown {
    const line = this.line;
    const col = this.indent + 1;
    const value = this.block();
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      this.itemPositions.set(value, { line, col });
    }
    return value;
  }

  private map(indent: number): Record<string, unknown> {
    this.enter();
    const map: Record<string, unknown> = {};
    const s = this.s;
    let keys = 0;
    const at = this.rec ? new Map<string, { key: Pos; value: Pos }>() : undefined;
    if (at) this.rec?.set(map, at);
    while (this.has && this.indent >= indent) {
      if (this.indent > indent) bail();
      const after = this.keyEnd();
      if (after < 0) bail();
      if (++keys > this.limits.maxKeys) throw tooManyKeys(this.limits, this.start);
      const key = internKey(s, this.start, this.keyStop);
      if (Object.hasOwn(map, key)) bail();
      const keyPos = at && this.here(this.start);
      let valuePos: Pos | undefined;
      let p = after;
      while (s.charCodeAt(p) === SPACE) p++;
      if (p >= this.end || s.charCodeAt(p) === HASH) {
        this.advance();
        if (at && this.has && this.indent >= indent) valuePos = this.here(this.start);
        if (this.has && this.indent > indent) map[key] = this.block();
        else if (this.has && this.indent === indent && this.isSeqItem(this.start)) map[key] = this.seq(indent);
        else map[key] = null;
      } else {
        if (at) valuePos = this.here(p);
        map[key] = this.inline(p);
        this.advance();
        this.noDeeperThan(indent);
      }
      if (at && keyPos) at.set(key, { key: keyPos, value: map[key] === null || !valuePos ? keyPos : valuePos });
    }
    this.depth--;
    return map;
  }

  /** A value that starts at `p` and ends on this line, followed at most by a comment. */
  private inline(p: number): unknown {
    const s = this.s;
    const c = s.charCodeAt(p);
    if (c === 34 || c === 39 || c === 91 || c === 123) {
      // " ' [ {
      const flow = this.flow;
      flow.reset(p, this.end, this.depth, this.line, this.start - this.indent);
      const value = flow.node(false);
      flow.endOfLine();
      return value;
    }
    // The value ends at the line's end or at a comment (` #`); indexOf would scan past the line.
    let stop = p;
    while (stop < this.end && !(s.charCodeAt(stop) === HASH && s.charCodeAt(stop - 1) === SPACE)) stop++;
    while (stop > p && s.charCodeAt(stop - 1) === SPACE) stop--;
    const text = s.slice(p, stop);
    if (!plainStartOk(text) || text.includes(': ') || text.charCodeAt(text.length - 1) === COLON) bail();
    return resolvePlain(text);
  }

  /** A more indented line after a one-line value is a multi-line scalar or an error: not ours. */
  private noDeeperThan(indent: number): void {
    if (this.has && this.indent > indent) bail();
  }
}
