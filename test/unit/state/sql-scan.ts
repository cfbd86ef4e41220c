// Finds SQL against rotor's own tables in source text: the check behind "src/state is the only
// module with SQL against rotor's tables". It reads string literals and template literals only
// (through the TypeScript parser), so comments and identifiers never count, and every piece of a
// query counts, even a FROM clause built apart from its SELECT.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** rotor's tables (src/state/migrations). The local store's and BullMQ's tables are not among them. */
export const ROTOR_TABLES = ['secrets', 'runs', 'steps', 'run_consumers', 'audit', 'alert_state'] as const;

/**
 * A keyword that names a table, then one of rotor's tables, optionally schema-qualified or quoted,
 * and not followed by a character that would make it another word (`runs_active`, `steps.ts`).
 */
const SQL_REF = new RegExp(
  String.raw`\b(?:from|join|into|update|truncate|table|using|copy)\s+(?:only\s+)?(?:"?public"?\s*\.\s*)?"?(${ROTOR_TABLES.join('|')})"?(?![\w$.\-/])`,
  'gi',
);

export interface SqlFinding {
  /** Relative path and 1-based line, `src/cli/status.ts:88`. */
  where: string;
  table: string;
  /** The matched words, e.g. `from runs`. */
  text: string;
}

/** A literal's text, and where in the file the character at an index of that text sits. */
interface Piece {
  text: string;
  posOf(index: number): number;
}

function literalPieces(file: ts.SourceFile): Piece[] {
  const pieces: Piece[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      // +1: past the opening quote. Exact unless the text has escapes; the line is what matters.
      const start = node.getStart(file) + 1;
      pieces.push({ text: node.text, posOf: (i) => start + i });
    } else if (ts.isTemplateExpression(node)) {
      // The parts of one template joined, a substitution standing for one word, so that a query
      // split by `${...}` is read as one: `from ${x} s join runs`.
      let text = node.head.text;
      const parts = [{ offset: 0, pos: node.head.getStart(file) + 1 }];
      for (const span of node.templateSpans) {
        text += ' ${} ';
        parts.push({ offset: text.length, pos: span.literal.getStart(file) + 1 });
        text += span.literal.text;
      }
      pieces.push({
        text,
        posOf: (i) => {
          const part = parts.filter((p) => p.offset <= i).at(-1)!;
          return part.pos + (i - part.offset);
        },
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return pieces;
}

/** Every reference to one of rotor's tables in the file's string and template literals. */
export function findRotorSql(path: string, source: string): SqlFinding[] {
  const kind = /\.(m?js|cjs)$/.test(path) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const file = ts.createSourceFile(path, source, ts.ScriptTarget.Latest, true, kind);
  const findings: SqlFinding[] = [];
  for (const piece of literalPieces(file)) {
    for (const m of piece.text.matchAll(SQL_REF)) {
      const line = file.getLineAndCharacterOfPosition(piece.posOf(m.index)).line + 1;
      findings.push({ where: `${path}:${line}`, table: m[1]!.toLowerCase(), text: m[0].replace(/\s+/g, ' ') });
    }
  }
  return findings;
}

/** The .ts and .js files under `dirs` (relative to `root`), node_modules aside. */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(join(root, dir), { withFileTypes: true });
    } catch {
      return; // a directory this checkout does not have
    }
    for (const e of entries) {
      const rel = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(rel);
      } else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) {
        files.push(rel);
      }
    }
  };
  for (const d of dirs) walk(d);
  return files.sort();
}

export function scanFiles(root: string, files: readonly string[]): SqlFinding[] {
  return files.flatMap((f) => findRotorSql(relative(root, join(root, f)), readFileSync(join(root, f), 'utf8')));
}
