// How problems read on a terminal: `file:line:col: [secret] message`, then what to do.
import { countFiles, type Problem } from './problems.js';

export function formatProblem(p: Problem): string {
  const head = `${p.file}:${p.line}:${p.col}: ${p.secretId ? `[${p.secretId}] ` : ''}${p.message}`;
  return p.hint ? `${head}\n  → ${p.hint}` : head;
}

/** Every problem, then `N problems in M files`. */
export function formatProblems(problems: readonly Problem[]): string {
  return [...problems.map(formatProblem), summarizeProblems(problems)].join('\n');
}

export function summarizeProblems(problems: readonly Problem[]): string {
  const files = countFiles(problems);
  return `${problems.length} ${problems.length === 1 ? 'problem' : 'problems'} in ${files} ${files === 1 ? 'file' : 'files'}`;
}
