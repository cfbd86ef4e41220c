// Builds dist/: rotor's TypeScript compiled by tsc (tsconfig.build.json), plus the files the code
// reads next to itself (SQL migrations, the dashboard's static files), then a stamp whose mtime
// says when the build started. Runs as `npm run build`, as npm's `prepare` on `npm ci`, and from
// bin/rotor.js when the sources are newer than the stamp; concurrent builds wait for one another.
// Plain JavaScript: it must run before anything is compiled.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
export const STAMP = join(DIST, '.build-stamp');
const LOCK = join(ROOT, '.dist-build.lock');
/** Source trees compiled into dist/ (examples/consumer-app is imported by the embedded demo). */
export const SOURCE_DIRS = ['src', 'rotators', 'examples/consumer-app'];
/** Non-TypeScript files the compiled code reads relative to itself. */
const ASSETS = ['src/state/migrations', 'src/dashboard/static'];

/** Newest mtime (ms) of the files under the source trees, with tsconfig*.json. */
export function newestSource(root = ROOT) {
  let newest = 0;
  for (const name of ['tsconfig.json', 'tsconfig.build.json']) newest = Math.max(newest, mtimeOf(join(root, name)));
  for (const dir of SOURCE_DIRS) {
    let entries;
    try {
      entries = readdirSync(join(root, dir), { recursive: true, withFileTypes: true });
    } catch {
      continue;
    }
    // Directories too: deleting or renaming a file changes only its directory's mtime.
    for (const e of entries) if (e.isFile() || e.isDirectory()) newest = Math.max(newest, mtimeOf(join(e.parentPath ?? e.path, e.name)));
  }
  return newest;
}

function mtimeOf(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** True when dist/ is missing or older than a source file. */
export function distIsStale(root = ROOT) {
  const stamp = mtimeOf(join(root, 'dist', '.build-stamp'));
  return stamp === 0 || newestSource(root) > stamp;
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Takes the build lock (a directory: mkdir is atomic); a lock older than 10 minutes is abandoned. */
function lock() {
  for (;;) {
    try {
      mkdirSync(LOCK);
      return;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      if (Date.now() - mtimeOf(LOCK) > 600_000) rmSync(LOCK, { recursive: true, force: true });
      else sleep(200);
    }
  }
}

/** Deletes compiled files whose source is gone (tsc never deletes), so dist/ holds no module src/ lost. */
function pruneOrphans() {
  for (const dir of SOURCE_DIRS) {
    let entries;
    try {
      entries = readdirSync(join(DIST, dir), { recursive: true, withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const m = /^(.*)\.(js|d\.ts)(\.map)?$/.exec(e.name);
      if (!e.isFile() || !m) continue;
      const from = join(e.parentPath ?? e.path, e.name);
      const source = join(ROOT, from.slice(DIST.length + 1, from.length - e.name.length), `${m[1]}.ts`);
      if (!existsSync(source)) rmSync(from, { force: true });
    }
  }
}

/**
 * Builds dist/ unless `onlyIfStale` and it is fresh; returns the exit code. `prepare` (npm's
 * prepare script): a production install (npm ci --omit=dev, the Docker image's last stage) has no
 * compiler and takes dist/ from a build stage, so no compiler is not an error there.
 */
export function build({ onlyIfStale = false, quiet = false, prepare = false } = {}) {
  let tsc;
  try {
    tsc = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    if (existsSync(STAMP) || prepare) return 0;
    process.stderr.write('rotor: dist/ is missing and TypeScript is not installed: run `npm ci` (with dev dependencies) to build rotor\n');
    return 1;
  }
  lock();
  try {
    // Someone else may have built it while this process waited for the lock.
    if (onlyIfStale && !distIsStale()) return 0;
    const started = Date.now();
    if (!quiet) process.stderr.write('rotor: building dist/ from the TypeScript sources (tsc -p tsconfig.build.json)...\n');
    // tsc's diagnostics go to stderr: a command's stdout may be piped JSON.
    const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: ['ignore', 2, 2] });
    if (r.status !== 0) {
      process.stderr.write('rotor: the build failed (see above); dist/ was not updated\n');
      return r.status ?? 1;
    }
    pruneOrphans();
    for (const dir of ASSETS) {
      rmSync(join(DIST, dir), { recursive: true, force: true });
      cpSync(join(ROOT, dir), join(DIST, dir), { recursive: true });
    }
    // The stamp carries the start time: a source saved during the build makes dist/ stale again.
    writeFileSync(STAMP, new Date(started).toISOString() + '\n');
    utimesSync(STAMP, new Date(started), new Date(started));
    if (!quiet) process.stderr.write(`rotor: built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return 0;
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const flag = (name) => process.argv.includes(name);
  process.exitCode = build({ onlyIfStale: flag('--if-stale'), quiet: flag('--quiet'), prepare: flag('--prepare') });
}
