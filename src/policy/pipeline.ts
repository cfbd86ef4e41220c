// The steps of loading policies, shared by the in-process loader and the worker threads: read the
// files, collect classes, validate and resolve one file at a time, then find duplicate ids across
// files. One file's secrets are resolved and handed on before the next file is parsed.
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { InvalidInputError } from '../errors.js';
import { isPluginSpec, loadPlugin, pluginKey } from '../rotator/plugins.js';
import { collectClasses, type ResolvedClass } from './classes.js';
import { listPolicyFiles } from './files.js';
import { z } from 'zod';
import { parseFreezes } from './freeze.js';
import { check, type RawProblem } from './issues.js';
import { freezeSchema } from './schema.js';
import type { LoadedSecret } from './loaded-secret.js';
import type { Problem } from './problems.js';
import { policyLimits, type PolicyLimits } from './limits.js';
import { readPolicyText, readPolicyTextSync, type PolicyText } from './read-text.js';
import { checkReferences, type ReferenceCache, type ReferenceCheckOptions } from './ref-check.js';
import { rawSecretId, resolveSecret, type SecretContext } from './secret.js';
import { ownCopy } from './strings.js';
import { closest } from './suggest.js';
import { combineTiming } from './timing.js';
import { readTopLevel, type TopLevel } from './top-level.js';
import { parsePolicySource, refusedSource, type PolicySource } from './yaml/source.js';

export interface PolicyFiles {
  /** Absolute paths, sorted. */
  files: string[];
  /** As problems name them (relative to the working directory when inside it). */
  display: string[];
  /** From the environment, read once per pass (and sent to the worker thread with the rest). */
  limits: PolicyLimits;
}

export async function findPolicyFiles(dir: string, cwd: string): Promise<PolicyFiles> {
  const files = await listPolicyFiles(dir);
  if (files.length === 0) {
    throw new InvalidInputError(`no policy files (*.yaml, *.yml) under ${dir}`, { hint: 'check the directory, or write a policy there' });
  }
  return { files, display: files.map((f) => displayPath(f, cwd)), limits: policyLimits() };
}

function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

export async function readTexts(pf: PolicyFiles): Promise<PolicyText[]> {
  return Promise.all(pf.files.map((f) => readPolicyText(f, pf.limits)));
}

export function readText(pf: PolicyFiles, index: number): PolicyText {
  return readPolicyTextSync(pf.files[index] as string, pf.limits);
}

export interface FileScan {
  /** Bytes of YAML in all the files. */
  bytes: number;
  /** Files that may define classes (mayDefineClasses), with their text. */
  classFiles: Array<{ index: number; text: string }>;
}

/**
 * Reads every file once, one at a time, for its size and whether it may define classes; only
 * those are decoded and kept. Holding every text at once would add the whole tree to the peak
 * memory of a pass whose threads read their files again anyway (from the page cache).
 */
export function scanFiles(pf: PolicyFiles): FileScan {
  const scan: FileScan = { bytes: 0, classFiles: [] };
  for (let index = 0; index < pf.files.length; index++) {
    let buf: Buffer;
    try {
      // Too large: refused when the file is processed.
      if (statSync(pf.files[index] as string).size > pf.limits.maxFileBytes) continue;
      buf = readFileSync(pf.files[index] as string);
    } catch {
      continue; // reported when the file is processed
    }
    scan.bytes += buf.length;
    if (!buf.includes('classes')) continue;
    const text = buf.toString('utf8');
    if (mayDefineClasses(text)) scan.classFiles.push({ index, text });
  }
  return scan;
}

/**
 * Only files that mention a `classes:` key can define classes; the class pass parses just those.
 * Cheap on text, and wrong only towards parsing a file early (a nested key of that name).
 */
export function mayDefineClasses(text: string): boolean {
  return text.includes('classes') && /(?:^|[{,])\s*["']?classes["']?\s*:/m.test(text);
}

interface Parsed {
  src: PolicySource;
  top: TopLevel;
}

export interface Prepared {
  ctx: SecretContext;
  classes: Map<string, ResolvedClass>;
  /** Files the class pass parsed already, by index; processFile takes them from here. */
  early: Map<number, Parsed>;
}

export function parseFile(pf: PolicyFiles, index: number, text: Exclude<PolicyText, undefined>): Parsed {
  const file = pf.files[index] as string;
  const display = pf.display[index] as string;
  const src = typeof text === 'string' ? parsePolicySource(file, display, text, pf.limits) : refusedSource(file, display, text.refused);
  return { src, top: readTopLevel(src, pf.limits) };
}

/** Classes first, since a secret may use a class from any file. `classFiles` are file indices. */
export function prepareClasses(
  pf: PolicyFiles,
  classFiles: ReadonlyArray<{ index: number; text: Exclude<PolicyText, undefined> }>,
): Prepared {
  const classes = new Map<string, ResolvedClass>();
  const early = new Map<number, Parsed>();
  for (const { index, text } of classFiles) {
    const parsed = parseFile(pf, index, text);
    if (parsed.top.classes !== undefined) collectClasses(parsed.src, parsed.top.classes, classes, parsed.top.problems);
    early.set(index, parsed);
  }
  const defaultTiming = combineTiming({ path: [], retry: {}, drain: {} }, undefined, []);
  return { ctx: { classes, defaultTiming }, classes, early };
}

export interface FileOutcome {
  index: number;
  problems: Problem[];
  /** Id of each secret in the file, in order ('' for one without a usable id). */
  ids: string[];
  /** How many of them were valid (handed to `visit`). */
  valid: number;
  /** The `dependsOn:` of each secret that has one: [index in the file, ids]. Checked by findDependencyProblems. */
  deps?: Array<[index: number, ids: string[]]>;
}

export interface ProcessOptions {
  resolveRefs?: ReferenceCheckOptions;
  refCache?: ReferenceCache;
}

/**
 * Validates and resolves the secrets of one file; hands each valid one to `visit`. Duplicate ids
 * across files are found afterwards, by findDuplicates, over every file's `ids`.
 */
export async function processFile(
  pf: PolicyFiles,
  prep: Prepared,
  index: number,
  text: PolicyText,
  visit: (secret: LoadedSecret) => void,
  opts: ProcessOptions = {},
): Promise<FileOutcome> {
  if (text === undefined) {
    const problem: Problem = {
      file: pf.display[index] as string,
      line: 1,
      col: 1,
      code: 'io',
      message: 'cannot read the file',
      hint: 'check that it exists and that rotor may read it',
    };
    return { index, problems: [problem], ids: [], valid: 0 };
  }
  const { src, top } = prep.early.get(index) ?? parseFile(pf, index, text);
  prep.early.delete(index);
  const fileProblems: RawProblem[] = [];
  const ctx = withFileFreezes(prep.ctx, top.freezes, fileProblems);
  const problems = locateAll(src, [...top.problems, ...fileProblems], undefined);
  const ids: string[] = [];
  let deps: FileOutcome['deps'];
  let valid = 0;
  for (let i = 0; i < top.secrets.length; i++) {
    const raw = top.secrets[i];
    // Plug-ins are imported before the (synchronous) resolution; built-in names skip this.
    const plugin = pluginSpecOf(raw);
    if (plugin !== undefined) {
      const key = pluginKey(plugin, src.file);
      if (key !== undefined) await loadPlugin(key);
    }
    const found: RawProblem[] = [];
    const secret = resolveSecret(src, raw, i, ctx, found);
    const id = rawSecretId(raw);
    ids.push(id === undefined ? '' : ownCopy(id));
    if (secret?.dependsOn) (deps ??= []).push([i, secret.dependsOn.map(ownCopy)]);
    if (opts.resolveRefs)
      found.push(...(await checkReferences(raw, ['secrets', i], src.file, opts.resolveRefs, opts.refCache ?? new Map())));
    if (found.length) problems.push(...locateAll(src, found, id));
    else if (secret) {
      valid++;
      visit(secret);
    }
  }
  return { index, problems, ids, valid, ...(deps ? { deps } : {}) };
}

/**
 * Ids used more than once, in file order: each later use is reported, naming the first. Returns
 * the problems and the ids involved (none of their secrets is usable).
 */
export function findDuplicates(
  pf: PolicyFiles,
  outcomes: readonly FileOutcome[],
  textOf: (index: number) => PolicyText,
): { problems: Problem[]; ids: Set<string> } {
  const first = new Map<string, { file: number; index: number }>();
  const problems: Problem[] = [];
  const ids = new Set<string>();
  const sources = new Map<number, PolicySource>();
  const source = (f: number) => {
    let src = sources.get(f);
    if (!src) {
      const text = textOf(f);
      src = parsePolicySource(pf.files[f] as string, pf.display[f] as string, typeof text === 'string' ? text : '', pf.limits);
      sources.set(f, src);
    }
    return src;
  };
  for (const outcome of outcomes) {
    outcome.ids.forEach((id, i) => {
      if (id === '') return;
      const earlier = first.get(id);
      if (!earlier) {
        first.set(id, { file: outcome.index, index: i });
        return;
      }
      ids.add(id);
      const at = source(earlier.file).locate(['secrets', earlier.index, 'id'], 'value');
      const src = source(outcome.index);
      problems.push(
        ...locateAll(
          src,
          [
            {
              path: ['secrets', i, 'id'],
              at: 'value',
              code: 'duplicate-id',
              message: `secret id \`${id}\` is already used at ${pf.display[earlier.file]}:${at.line}:${at.col}`,
              hint: 'secret ids must be unique across all policy files; rename one of them',
            },
          ],
          id,
        ),
      );
    });
  }
  return { problems, ids };
}

/**
 * `dependsOn:` entries that name no secret, and cycles among them, each reported at the entry
 * (file:line:col). Returns the problems and the ids involved (none of their secrets is usable).
 */
export function findDependencyProblems(
  pf: PolicyFiles,
  outcomes: readonly FileOutcome[],
  textOf: (index: number) => PolicyText,
): { problems: Problem[]; ids: Set<string> } {
  const problems: Problem[] = [];
  const ids = new Set<string>();
  const where = new Map<string, { file: number; index: number; deps: string[] }>();
  const known = new Set<string>();
  for (const o of outcomes) for (const id of o.ids) if (id) known.add(id);
  for (const o of outcomes) {
    for (const [index, deps] of o.deps ?? []) {
      const id = o.ids[index];
      if (id) where.set(id, { file: o.index, index, deps });
    }
  }
  if (!where.size) return { problems, ids };
  const sources = new Map<number, PolicySource>();
  const report = (id: string, entry: number, code: 'unknown-dependency' | 'dependency-cycle', message: string, hint: string) => {
    const w = where.get(id)!;
    let src = sources.get(w.file);
    if (!src) {
      const text = textOf(w.file);
      src = parsePolicySource(pf.files[w.file] as string, pf.display[w.file] as string, typeof text === 'string' ? text : '', pf.limits);
      sources.set(w.file, src);
    }
    ids.add(id);
    problems.push(...locateAll(src, [{ path: ['secrets', w.index, 'dependsOn', entry], at: 'value', code, message, hint }], id));
  };
  for (const [id, w] of where) {
    w.deps.forEach((d, j) => {
      if (!known.has(d)) {
        report(id, j, 'unknown-dependency', `dependsOn names \`${d}\`, which is no secret in these policies`, dependencyHint(d, known));
      }
    });
  }
  // Depth-first over the dependencies: an edge back to a secret on the path closes a cycle,
  // reported at each of its secrets' entry that points to the next one.
  const state = new Map<string, 'open' | 'closed'>();
  const path: string[] = [];
  const reported = new Set<string>();
  const visit = (id: string): void => {
    state.set(id, 'open');
    path.push(id);
    for (const d of where.get(id)?.deps ?? []) {
      if (state.get(d) === 'open') {
        const cycle = path.slice(path.indexOf(d));
        const text = [...cycle, d].map((x) => `\`${x}\``).join(' → ');
        cycle.forEach((member, k) => {
          const next = cycle[(k + 1) % cycle.length] as string;
          const entry = where.get(member)!.deps.indexOf(next);
          if (reported.has(`${member}\u0000${entry}`)) return;
          reported.add(`${member}\u0000${entry}`);
          report(
            member,
            entry,
            'dependency-cycle',
            `dependsOn forms a cycle: ${text}`,
            'remove one of these dependsOn entries: an incident could never start any of them',
          );
        });
      } else if (!state.has(d) && where.has(d)) visit(d);
    }
    path.pop();
    state.set(id, 'closed');
  };
  for (const id of where.keys()) if (!state.has(id)) visit(id);
  return { problems, ids };
}

function dependencyHint(id: string, known: ReadonlySet<string>): string {
  const near = closest(id, [...known]);
  return near ? `did you mean \`${near}\`?` : 'name the id of a secret defined in any policy file, or remove the entry';
}

/** The context for one file's secrets: with its `freezes:`, checked (problems to `out`). */
function withFileFreezes(ctx: SecretContext, raw: unknown, out: RawProblem[]): SecretContext {
  if (raw === undefined) return ctx;
  const fields = check(z.array(freezeSchema), raw, { path: ['freezes'], label: 'freezes', subject: 'freeze' }, out);
  return fields ? { ...ctx, fileFreezes: parseFreezes(fields, ['freezes'], out) } : ctx;
}

/** The `rotator:` of a raw secret when it names a plug-in (a path or npm:), else undefined. */
function pluginSpecOf(raw: unknown): string | undefined {
  const name = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>).rotator : undefined;
  return typeof name === 'string' && isPluginSpec(name) ? name : undefined;
}

function locateAll(src: PolicySource, raw: readonly RawProblem[], secretId: string | undefined): Problem[] {
  return raw.map((p) => {
    const pos = p.pos ?? src.locate(p.path, p.at);
    return {
      file: src.display,
      line: pos.line,
      col: pos.col,
      ...(secretId === undefined ? {} : { secretId }),
      code: p.code,
      message: p.message,
      ...(p.hint ? { hint: p.hint } : {}),
    };
  });
}
