// The `yaml` library's parse of a policy file, bounded: the concrete syntax tree (built without
// recursion) is checked against the depth and size limits before the library's recursive composer
// and toJS run on it, and duplicate keys are found here in linear time (the library's `uniqueKeys`
// compares each key with every earlier one: 70 s for a map of 50,000 keys).
import { Composer, LineCounter, Parser, YAMLParseError, isMap, isScalar, isSeq, type CST, type Document } from 'yaml';
import { LimitExceeded, tooDeep, tooManyKeys, type PolicyLimits } from '../limits.js';

export interface FullParse {
  doc: Document;
  lines: LineCounter;
  /** Offsets of the second and later uses of a key in a map. */
  duplicateKeys: number[];
}

/** Throws LimitExceeded. Errors of the YAML itself are in `doc.errors`, as parseDocument has them. */
export function fullParse(text: string, limits: PolicyLimits): FullParse {
  try {
    return boundedParse(text, limits);
  } catch (err) {
    // The library's CST parser recurses once per line in some broken files (seen by the fuzz
    // test on 30,000 lines): a refusal of the file, not a crash of rotor.
    if (!(err instanceof RangeError)) throw err;
    throw new LimitExceeded(
      'the YAML parser ran out of stack on this file',
      'fix the YAML errors near the top of the file, or split it into smaller files',
      0,
    );
  }
}

function boundedParse(text: string, limits: PolicyLimits): FullParse {
  const lines = new LineCounter();
  const tokens = [...new Parser(lines.addNewLine).parse(text)];
  checkTokens(tokens, limits);
  // logLevel 'error': the library would print its warnings (a collection used as a key) on stderr;
  // they are in doc.warnings and reported as problems.
  const composer = new Composer({ uniqueKeys: false, prettyErrors: false, logLevel: 'error' });
  // As parseDocument does it: the first document, and an error if there is another.
  let doc: Document | undefined;
  for (const d of composer.compose(tokens, true, text.length)) {
    if (!doc) {
      doc = d;
    } else {
      doc.errors.push(
        new YAMLParseError(
          [d.range[0], d.range[1]],
          'MULTIPLE_DOCS',
          'Source contains multiple documents; please use YAML.parseAllDocuments()',
        ),
      );
      break;
    }
  }
  const first = doc as Document;
  return { doc: first, lines, duplicateKeys: duplicateKeys(first) };
}

function checkTokens(tokens: readonly CST.Token[], limits: PolicyLimits): void {
  const stack: Array<{ token: CST.Token; depth: number }> = tokens.map((token) => ({ token, depth: 0 }));
  for (let next = stack.pop(); next; next = stack.pop()) {
    const { token, depth } = next;
    if (token.type === 'document') {
      if (token.value) stack.push({ token: token.value, depth });
      continue;
    }
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (depth + 1 > limits.maxDepth) throw tooDeep(limits, token.offset);
    if (token.items.length > limits.maxKeys) throw tooManyKeys(limits, offsetOf(token.items[limits.maxKeys], token.offset));
    for (const item of token.items) {
      if (item.key) stack.push({ token: item.key, depth: depth + 1 });
      if (item.value) stack.push({ token: item.value, depth: depth + 1 });
    }
  }
}

function offsetOf(item: CST.CollectionItem | undefined, fallback: number): number {
  const token = item?.key ?? item?.value ?? item?.start[0];
  return token && 'offset' in token ? token.offset : fallback;
}

/** Offsets of keys that repeat an earlier scalar key of the same map (the library's equality). */
function duplicateKeys(doc: Document): number[] {
  const found: number[] = [];
  const stack: unknown[] = [doc.contents];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          if (seen.has(pair.key.value) && pair.key.range) found.push(pair.key.range[0]);
          seen.add(pair.key.value);
        } else if (pair.key) {
          stack.push(pair.key);
        }
        if (pair.value) stack.push(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    }
  }
  return found.sort((a, b) => a - b);
}

/**
 * Aliases can nest a value deeper than its text (an alias to a deep list inside a deep list):
 * refuses a value deeper than the limit. Iterative; shared nodes are visited once per depth.
 */
export function checkValueDepth(value: unknown, limits: PolicyLimits): void {
  const deepest = new Map<object, number>();
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 0 }];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const { v, depth } = next;
    if (v === null || typeof v !== 'object') continue;
    if ((deepest.get(v) ?? -1) >= depth) continue;
    deepest.set(v, depth);
    if (depth + 1 > limits.maxDepth) {
      const deep = tooDeep(limits, 0);
      throw new LimitExceeded(`${deep.message.replace(' here', '')} through aliases`, deep.hint, 0);
    }
    for (const child of v instanceof Map ? v.values() : Array.isArray(v) ? v : Object.values(v)) stack.push({ v: child, depth: depth + 1 });
  }
}
