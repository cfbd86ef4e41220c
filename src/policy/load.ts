// Loads every policy file under a directory: parses, validates and resolves them all, and reports
// every problem in every file at once (file:line:col, secret id, what to do). Files stream through
// one at a time, so 100k secrets never sit in memory as YAML, parsed values and results at once.
import type { ResolvedClass } from './classes.js';
import type { LoadedSecret } from './loaded-secret.js';
import {
  findDependencyProblems,
  findDuplicates,
  findPolicyFiles,
  mayDefineClasses,
  prepareClasses,
  processFile,
  readText,
  readTexts,
  type FileOutcome,
} from './pipeline.js';
import { sortProblems, type Problem } from './problems.js';
import type { ReferenceCache, ReferenceCheckOptions } from './ref-check.js';

export { listPolicyFiles } from './files.js';

export interface LoadOptions {
  /** Also resolve env: and file: references and report those that fail (`validate --resolve`). */
  resolveRefs?: ReferenceCheckOptions;
  /** Paths in problems are relative to this directory. @defaultValue process.cwd() */
  cwd?: string;
  /**
   * Receives each valid secret as its file is processed, and the result's `secrets` stays empty,
   * so callers that look at each secret once (validate, plan) never hold them all. A secret whose
   * id a later file uses again has been passed already; problems then report the duplicate.
   */
  onSecret?: (secret: LoadedSecret) => void;
}

export interface LoadResult {
  /** Valid secrets, in file order (empty with onSecret); a secret with any problem is left out. */
  secrets: LoadedSecret[];
  classes: ReadonlyMap<string, ResolvedClass>;
  /** Sorted by file, line, column. Empty when the policies are valid. */
  problems: Problem[];
  /** The policy files read, as problems name them. */
  files: string[];
  /** How many valid secrets there are (also with onSecret). */
  secretCount: number;
}

export async function loadPolicies(dir: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const pf = await findPolicyFiles(dir, opts.cwd ?? process.cwd());
  const texts = await readTexts(pf);
  const classFiles = texts.flatMap((text, index) => (typeof text === 'string' && mayDefineClasses(text) ? [{ index, text }] : []));
  const prep = prepareClasses(pf, classFiles);
  const secrets: LoadedSecret[] = [];
  let secretCount = 0;
  const visit = (s: LoadedSecret) => {
    secretCount++;
    if (opts.onSecret) opts.onSecret(s);
    else secrets.push(s);
  };
  const refCache: ReferenceCache = new Map();
  const outcomes: FileOutcome[] = [];
  for (let f = 0; f < pf.files.length; f++) {
    outcomes.push(
      await processFile(pf, prep, f, texts[f], visit, { ...(opts.resolveRefs ? { resolveRefs: opts.resolveRefs } : {}), refCache }),
    );
    // Done with its text; a duplicate id found later reads the file again.
    texts[f] = undefined;
  }
  const duplicates = findDuplicates(pf, outcomes, (f) => readText(pf, f));
  const dependencies = findDependencyProblems(pf, outcomes, (f) => readText(pf, f));
  const unusable = new Set([...duplicates.ids, ...dependencies.ids]);
  const usable = unusable.size ? secrets.filter((s) => !unusable.has(s.id)) : secrets;
  return {
    secrets: usable,
    classes: prep.classes,
    problems: sortProblems([...outcomes.flatMap((o) => o.problems), ...duplicates.problems, ...dependencies.problems]),
    files: pf.display,
    secretCount: secretCount - (secrets.length - usable.length),
  };
}
