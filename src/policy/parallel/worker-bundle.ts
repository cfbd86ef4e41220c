// The policy worker as one JavaScript file, so that a worker thread starts in a fifth of a second
// instead of one and a half: through tsx, every module of the worker (ours, zod, yaml, luxon) is
// resolved and loaded through a loader thread of its own, and that start was a third of a
// 100k-secret `validate`. The file is built from the TypeScript sources with the esbuild that tsx
// itself runs on, kept under node_modules/.cache/rotor/, and built again when any of its inputs
// changed (size or mtime). Anything that goes wrong here falls back to the tsx worker.
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Starts the TypeScript worker through tsx: the fallback. */
export const TSX_WORKER = new URL('./worker-shim.mjs', import.meta.url);
const ENTRY = fileURLToPath(new URL('./worker.ts', import.meta.url));
// Per checkout: two checkouts may share one node_modules (a symlink).
const PREFIX = `policy-worker-${createHash('sha256').update(ENTRY).digest('hex').slice(0, 8)}-`;
const MANIFEST = `${PREFIX}manifest.json`;

interface Manifest {
  entry: string;
  /** File name of the bundle in the cache directory. */
  bundle: string;
  /** Every source file in the bundle: [absolute path, mtime ms, size]. */
  inputs: Array<[string, number, number]>;
}

interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ outputFiles?: Array<{ text: string }>; metafile?: { inputs: Record<string, unknown> } }>;
  stop?(): unknown;
}

interface EsbuildPlugin {
  name: string;
  setup(build: { onResolve(options: { filter: RegExp }, callback: (args: { path: string; kind: string }) => { path: string; external: boolean } | undefined): void }): void;
}

const LAZY_IMPORTS_STAY_OUT: EsbuildPlugin = {
  name: 'lazy-imports-stay-out',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined));
  },
};

let memo: Promise<URL> | undefined;

/** The worker to start: the cached bundle (built first if stale), else the tsx worker. */
export function policyWorkerUrl(): Promise<URL> {
  memo ??= locate().catch(() => TSX_WORKER);
  return memo;
}

async function locate(): Promise<URL> {
  const require = createRequire(import.meta.url);
  // tsx depends on esbuild: the esbuild next to it is the one that runs rotor's sources.
  const tsxPackage = require.resolve('tsx/package.json');
  const cacheDir = join(dirname(dirname(tsxPackage)), '.cache', 'rotor');
  const fresh = freshBundle(cacheDir);
  if (fresh) return pathToFileURL(fresh);
  // Where the bundle cannot be kept (a read-only install), building it each time would cost more
  // than it saves.
  mkdirSync(cacheDir, { recursive: true });
  accessSync(cacheDir, constants.W_OK);
  const esbuild = createRequire(tsxPackage)('esbuild') as Esbuild;
  return pathToFileURL(await build(esbuild, cacheDir));
}

function freshBundle(cacheDir: string): string | undefined {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(cacheDir, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
  if (manifest.entry !== ENTRY || !manifest.bundle.startsWith(PREFIX) || !manifest.bundle.endsWith('.mjs')) return undefined;
  const bundle = join(cacheDir, manifest.bundle);
  try {
    statSync(bundle);
    for (const [path, mtime, size] of manifest.inputs) {
      const st = statSync(path);
      if (st.mtimeMs !== mtime || st.size !== size) return undefined;
    }
  } catch {
    return undefined;
  }
  return bundle;
}

async function build(esbuild: Esbuild, cacheDir: string): Promise<string> {
  const workDir = dirname(ENTRY);
  const started = Date.now();
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    absWorkingDir: workDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'silent',
    // Loaded from node_modules at run time, only when a policy names a TypeScript plug-in.
    external: ['tsx', 'tsx/*'],
    // A dynamic import is a kind's lazy loader (a rotator's, consumer's or store's implementation,
    // with pg, ioredis or the AWS SDK behind it): validate never calls one, so none is bundled.
    plugins: [LAZY_IMPORTS_STAY_OUT],
    // CommonJS packages inside an ES module bundle still call require() for Node's built-ins.
    banner: { js: "import { createRequire as __rotorCreateRequire } from 'node:module'; const require = __rotorCreateRequire(import.meta.url);" },
  });
  await esbuild.stop?.();
  const code = result.outputFiles?.[0]?.text;
  if (!code || !result.metafile) throw new Error('esbuild returned no bundle');
  const inputs = Object.keys(result.metafile.inputs).map((p): [string, number, number] => {
    const path = isAbsolute(p) ? p : resolve(workDir, p);
    const st = statSync(path);
    return [path, st.mtimeMs, st.size];
  });
  // A source saved while esbuild read it may be in the bundle in either version: not kept.
  if (inputs.some(([, mtime]) => mtime > started - 2_000)) throw new Error('sources changed during the build');
  const name = `${PREFIX}${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`;
  // Written under a temporary name and renamed: a process that reads them meanwhile sees whole files.
  const tmp = join(cacheDir, `.${process.pid}-${Date.now()}`);
  writeFileSync(`${tmp}.mjs`, code);
  renameSync(`${tmp}.mjs`, join(cacheDir, name));
  const manifest: Manifest = { entry: ENTRY, bundle: name, inputs };
  writeFileSync(`${tmp}.json`, JSON.stringify(manifest));
  renameSync(`${tmp}.json`, join(cacheDir, MANIFEST));
  for (const old of readdirSync(cacheDir)) {
    if (old.startsWith(PREFIX) && old.endsWith('.mjs') && old !== name) {
      try {
        unlinkSync(join(cacheDir, old));
      } catch {
        // another process removed it
      }
    }
  }
  return join(cacheDir, name);
}
