// One policy file, parsed: its JS value, its YAML-level problems, and where each node is
// (file:line:col). The fast parser handles the common subset; the `yaml` library takes every
// other file and is also what finds node positions, lazily, only for files with problems.
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { fastParse } from './fast-parse.js';

export type PathSegment = string | number;

export interface Position {
  line: number;
  col: number;
}

export interface YamlIssue {
  code: 'yaml-syntax' | 'duplicate-key';
  message: string;
  pos: Position;
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

export function parsePolicySource(file: string, display: string, text: string): PolicySource {
  const fast = fastParse(text);
  if (fast) return new Source(file, display, text, fast.value, fast.itemPositions);
  return new Source(file, display, text, undefined, undefined);
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
      const duplicate = err.code === 'DUPLICATE_KEY';
      if (!duplicate && err.name === 'YAMLParseError') this.fatal = true;
      this.yamlIssues.push({
        code: duplicate ? 'duplicate-key' : 'yaml-syntax',
        message: duplicate ? 'duplicate key: the same field is written twice in this map' : `YAML: ${err.message}`,
        pos: lines.linePos(err.pos[0]),
      });
    }
    let js: unknown = null;
    try {
      js = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      this.fatal = true;
      this.yamlIssues.push({ code: 'yaml-syntax', message: `YAML: ${(err as Error).message}`, pos: START });
    }
    this.value = js;
  }

  private document(): Document {
    if (!this.doc) {
      this.lines = new LineCounter();
      this.doc = parseDocument(this.text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
    }
    return this.doc;
  }

  locate(path: readonly PathSegment[], at: 'key' | 'value'): Position {
    const doc = this.document();
    const lines = this.lines as LineCounter;
    const pos = (node: Node | null | undefined, fallback: Position): Position =>
      node?.range ? lines.linePos(node.range[0]) : fallback;
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

  itemPosition(path: readonly PathSegment[], item: object): Position {
    return this.itemPositions?.get(item) ?? this.locate(path, 'value');
  }
}
