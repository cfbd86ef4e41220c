// One policy file, parsed: its JS value, its YAML-level problems, and where each node is
// (file:line:col). The fast parser handles the common subset; the `yaml` library takes every
// other file and is also what finds node positions, lazily, only for files with problems.
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { LimitExceeded, policyLimits, positionOf, type PolicyLimits } from '../limits.js';
import { fastParse, type Positions } from './fast-parse.js';
import { checkValueDepth, fullParse } from './full-parse.js';

export type PathSegment = string | number;

export interface Position {
  line: number;
  col: number;
}

export interface YamlIssue {
  code: 'yaml-syntax' | 'duplicate-key' | 'limit-exceeded' | 'invalid-encoding';
  message: string;
  pos: Position;
  /** What to do, when not the usual advice for the code. */
  hint?: string;
}

export interface PolicySource {
  /** Absolute path. */
  readonly file: string;
  /** What problems print: relative to the working directory when inside it. */
  readonly display: string;
  readonly value: unknown;
  readonly yamlIssues: readonly YamlIssue[];
  /** True when the YAML could not be read as intended (beyond duplicate keys): skip its content. */
  readonly fatal: boolean;
  /**
   * Where the node at `path` is: its key (`at: 'key'`) or its value. When the path does not exist
   * (a missing field), the nearest existing ancestor.
   */
  locate(path: readonly PathSegment[], at: 'key' | 'value'): Position;
  /** Where a list item that is a map starts; cheap for files the fast parser read. */
  itemPosition(path: readonly PathSegment[], item: object): Position;
}

const START: Position = { line: 1, col: 1 };

export function parsePolicySource(file: string, display: string, text: string, limits: PolicyLimits = policyLimits()): PolicySource {
  try {
    const fast = fastParse(text, limits);
    if (fast) return new Source(file, display, text, limits, fast.value, fast.itemPositions);
    return new Source(file, display, text, limits, undefined, undefined);
  } catch (err) {
    if (!(err instanceof LimitExceeded)) throw err;
    return refusedSource(file, display, {
      code: 'limit-exceeded',
      message: err.message,
      hint: err.hint,
      pos: positionOf(text, err.offset),
    });
  }
}

/** A file that is not parsed at all: one problem, no content. */
export function refusedSource(file: string, display: string, issue: YamlIssue): PolicySource {
  return {
    file,
    display,
    value: null,
    yamlIssues: [issue],
    fatal: true,
    locate: () => issue.pos,
    itemPosition: () => issue.pos,
  };
}

class Source implements PolicySource {
  readonly value: unknown;
  readonly yamlIssues: YamlIssue[] = [];
  readonly fatal: boolean = false;
  private doc: Document | undefined;
  private lines: LineCounter | undefined;

  constructor(
    readonly file: string,
    readonly display: string,
    private readonly text: string,
    private readonly limits: PolicyLimits,
    value: unknown,
    private readonly itemPositions: Map<object, Position> | undefined,
  ) {
    if (itemPositions) {
      this.value = value;
      return;
    }
    const doc = this.document();
    const lines = this.lines as LineCounter;
    for (const err of [...doc.errors, ...doc.warnings]) {
      if (err.name === 'YAMLParseError') this.fatal = true;
      this.yamlIssues.push({ code: 'yaml-syntax', message: `YAML: ${err.message}`, pos: lines.linePos(err.pos[0]) });
    }
    for (const offset of this.duplicateKeys ?? []) {
      this.yamlIssues.push({
        code: 'duplicate-key',
        message: 'duplicate key: the same field is written twice in this map',
        pos: lines.linePos(offset),
      });
    }
    let js: unknown = null;
    try {
      js = doc.toJS({ maxAliasCount: 100 });
      checkValueDepth(js, this.limits);
    } catch (err) {
      js = null;
      this.fatal = true;
      if (err instanceof RangeError)
        this.yamlIssues.push({
          code: 'limit-exceeded',
          message: 'the YAML parser ran out of stack on this file',
          hint: 'simplify the anchors and aliases, or split the file',
          pos: START,
        });
      else if (err instanceof LimitExceeded)
        this.yamlIssues.push({ code: 'limit-exceeded', message: err.message, hint: err.hint, pos: START });
      else this.yamlIssues.push({ code: 'yaml-syntax', message: `YAML: ${(err as Error).message}`, pos: START });
    }
    this.value = js;
  }

  private duplicateKeys: number[] | undefined;

  /** Throws LimitExceeded (caught by parsePolicySource on the first call, from the constructor). */
  private document(): Document {
    if (!this.doc) {
      const full = fullParse(this.text, this.limits);
      this.lines = full.lines;
      this.doc = full.doc;
      this.duplicateKeys = full.duplicateKeys;
    }
    return this.doc;
  }

  locate(path: readonly PathSegment[], at: 'key' | 'value'): Position {
    if (this.itemPositions) return this.locateFast(path, at);
    const doc = this.document();
    const lines = this.lines as LineCounter;
    const pos = (node: Node | null | undefined, fallback: Position): Position => (node?.range ? lines.linePos(node.range[0]) : fallback);
    let node: unknown = doc.contents;
    let best = pos(doc.contents, START);
    for (let k = 0; k < path.length; k++) {
      const seg = path[k];
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) return best;
        const keyPos = pos(pair.key as Node, best);
        if (k === path.length - 1 && at === 'key') return keyPos;
        node = pair.value;
        // `key:` with nothing after it has no value node worth pointing at: point at the key.
        best = isScalar(node) && node.value === null ? keyPos : pos(node as Node, keyPos);
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
        if (!node) return best;
        best = pos(node as Node, best);
      } else {
        return best;
      }
    }
    return best;
  }

  private fast: { value: unknown; positions: Positions } | undefined;

  /**
   * locate() for a file the fast parser read: parsed again, recording positions (~4x faster than
   * the yaml library, which took 2 s for one map of 50,000 keys), with the same answers.
   */
  private locateFast(path: readonly PathSegment[], at: 'key' | 'value'): Position {
    if (!this.fast) {
      const positions: Positions = new Map();
      const parsed = fastParse(this.text, this.limits, positions);
      this.fast = { value: parsed?.value, positions };
    }
    const { positions } = this.fast;
    let node: unknown = this.fast.value;
    let best = firstContent(this.text);
    for (let k = 0; k < path.length; k++) {
      const seg = path[k] as PathSegment;
      const where = node !== null && typeof node === 'object' ? positions.get(node) : undefined;
      if (where instanceof Map && !Array.isArray(node)) {
        const pair = where.get(String(seg));
        if (!pair) return best;
        if (k === path.length - 1 && at === 'key') return pair.key;
        node = (node as Record<string, unknown>)[String(seg)];
        best = pair.value;
      } else if (Array.isArray(where) && typeof seg === 'number') {
        const pos = where[seg];
        if (!pos) return best;
        node = (node as unknown[])[seg];
        best = pos;
      } else {
        return best;
      }
    }
    return best;
  }

  itemPosition(path: readonly PathSegment[], item: object): Position {
    return this.itemPositions?.get(item) ?? this.locate(path, 'value');
  }
}

/** Where the document's content starts: the first line that is neither blank nor a comment. */
function firstContent(text: string): Position {
  const m = /^[ ]*[^ \n#]/m.exec(text);
  if (!m) return START;
  return positionOf(text, m.index + m[0].length - 1);
}
