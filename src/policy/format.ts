// How problems read on a terminal: `file:line:col: [secret] message`, then what to do.
import { countFiles, type Problem } from './problems.js';

export function formatProblem(p: Problem): string {
  const head = escapeControls(`${p.file}:${p.line}:${p.col}: ${p.secretId ? `[${p.secretId}] ` : ''}${p.message}`);
  return p.hint ? `${head}\n  → ${escapeControls(p.hint)}` : head;
}

// C0 and C1 controls, line separators and bidi overrides: a policy author's id or value must not
// move the cursor, color the terminal or reorder what the reader sees.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Every control character as an escape (`\x1b`, `\u202e`), so problems print as plain text. */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    return SHORT[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

/** Every problem, then `N problems in M files`. */
export function formatProblems(problems: readonly Problem[]): string {
  return [...problems.map(formatProblem), summarizeProblems(problems)].join('\n');
}

export function summarizeProblems(problems: readonly Problem[]): string {
  const files = countFiles(problems);
  return `${problems.length} ${problems.length === 1 ? 'problem' : 'problems'} in ${files} ${files === 1 ? 'file' : 'files'}`;
}
