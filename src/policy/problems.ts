// A problem found in the policies: where (file:line:col, secret id), what is wrong, what to do.

export type ProblemCode =
  | 'io'
  | 'yaml-syntax'
  | 'duplicate-key'
  | 'limit-exceeded'
  | 'invalid-encoding'
  | 'unknown-field'
  | 'missing-field'
  | 'wrong-type'
  | 'invalid-value'
  | 'invalid-id'
  | 'unknown-class'
  | 'unknown-rotator'
  | 'invalid-plugin'
  | 'unknown-store'
  | 'unknown-consumer-type'
  | 'duplicate-id'
  | 'duplicate-class'
  | 'duplicate-consumer'
  | 'unknown-dependency'
  | 'dependency-cycle'
  | 'invalid-cadence'
  | 'invalid-cron'
  | 'invalid-timezone'
  | 'invalid-window'
  | 'invalid-freeze'
  | 'grace-exceeds-cadence'
  | 'credential-literal'
  | 'unresolvable-reference';

export interface Problem {
  /** The policy file, relative to the working directory when inside it. */
  file: string;
  /** 1-based, of the offending node: the key for an unknown field, the value for a wrong one. */
  line: number;
  col: number;
  /** The secret the problem belongs to, when known. */
  secretId?: string;
  code: ProblemCode;
  message: string;
  /** What to do about it. */
  hint?: string;
}

/** Sorted by file, then line, then column: the order an editor walks through them. */
export function sortProblems(problems: Problem[]): Problem[] {
  return problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col));
}

export function countFiles(problems: readonly Problem[]): number {
  return new Set(problems.map((p) => p.file)).size;
}
