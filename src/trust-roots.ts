// Where a policy may make rotor read, write and load code from (README: Security → Trust model):
// the settings ROTOR_PLUGIN_DIRS, ROTOR_REF_FILE_ROOTS and ROTOR_ENV_FILE_ROOT, and the one check
// they share, made on real paths (symlinks resolved) so a link cannot lead out of a root.
import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/** A `:`-separated list of directories, resolved against the working directory; empty entries dropped. */
function dirList(text: string | undefined): string[] {
  return (text ?? '')
    .split(':')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * The real path of `path`, or, when it does not exist yet (a file rotor will write), the real path
 * of its nearest existing ancestor with the rest appended: a link anywhere on the way is followed.
 */
export function realPathOf(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    if (parent === abs) return abs;
    return join(realPathOf(parent), basename(abs));
  }
}

/** True when `path` (a real path) is `root` or inside it. */
export function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function insideAny(path: string, roots: readonly string[]): boolean {
  const real = realPathOf(path);
  return roots.some((r) => isInside(real, realPathOf(r)));
}

/** rotor's own directory (master key, embedded database): never readable or writable through a policy. */
function rotorHome(env: Env): string {
  return resolve(env.ROTOR_HOME ?? '.rotor');
}

export type RootCheck = { ok: true } | { ok: false; message: string; hint: string };

/**
 * May a `file:` reference read `path`? Inside ROTOR_REF_FILE_ROOTS (by default: the directory of
 * the policy file that holds it, /run/secrets and /var/run/secrets), never inside ROTOR_HOME.
 */
export function refFileAllowed(path: string, policyDir: string, env: Env = process.env): RootCheck {
  const listed = dirList(env.ROTOR_REF_FILE_ROOTS);
  const roots = listed.length ? listed : [policyDir, '/run/secrets', '/var/run/secrets'];
  const real = realPathOf(path);
  if (isInside(real, realPathOf(rotorHome(env)))) {
    return {
      ok: false,
      message: `${path} is inside rotor's own directory (ROTOR_HOME), which holds its master key`,
      hint: "a file: reference can never read rotor's own files; keep credentials elsewhere and list that directory in ROTOR_REF_FILE_ROOTS",
    };
  }
  if (!insideAny(real, roots)) {
    return {
      ok: false,
      message: `${path}${real !== resolve(path) ? ` (really ${real})` : ''} is outside the directories file: references may read`,
      hint: `list its directory in ROTOR_REF_FILE_ROOTS (':'-separated; ${listed.length ? `now ${listed.join(':')}` : "by default the policy file's directory, /run/secrets and /var/run/secrets"})`,
    };
  }
  return { ok: true };
}

/**
 * May an env-file consumer write `path`? Inside ROTOR_ENV_FILE_ROOT (default: the working
 * directory), and never over rotor's own files: those directly in ROTOR_HOME (the master key, the
 * embedded database's password) and the embedded database under ROTOR_HOME/pg. (The demo writes
 * its env files to ROTOR_HOME/demo.)
 */
export function envFileAllowed(path: string, env: Env = process.env): RootCheck {
  const root = env.ROTOR_ENV_FILE_ROOT?.trim() || process.cwd();
  const real = realPathOf(path);
  const home = realPathOf(rotorHome(env));
  if (dirname(real) === home || isInside(real, join(home, 'pg')) || real === home) {
    return {
      ok: false,
      message: `${path} is one of rotor's own files (in ROTOR_HOME, ${home})`,
      hint: "an env-file consumer can never write over rotor's own files; choose a path under ROTOR_ENV_FILE_ROOT",
    };
  }
  if (!isInside(real, realPathOf(root))) {
    return {
      ok: false,
      message: `${path}${real !== resolve(path) ? ` (really ${real})` : ''} is outside the directory env files may be written to (${root})`,
      hint: `write it under ${root}, or set ROTOR_ENV_FILE_ROOT to a directory that holds it`,
    };
  }
  return { ok: true };
}

/** rotor's own settings (ROTOR_MASTER_KEY, ROTOR_DATABASE_URL, ...): never handed to a process a policy names. */
export const ROTOR_OWN_VARIABLE = /^ROTOR_/;

export const ROTOR_OWN_VARIABLE_REFUSED =
  "is one of rotor's own settings (ROTOR_*), which are never passed to a process a policy runs; there is no setting to allow it: give the process what it needs under a name of its own";

/**
 * May rotor import the plug-in `key` (an absolute path or `npm:<package>`)? Only when
 * ROTOR_PLUGIN_DIRS lists a directory holding its file, or the entry `npm` for packages: a plug-in
 * is code, and a policy (or a pull request to one) must not be able to run code in rotor by itself.
 */
export function pluginAllowed(key: string, env: Env = process.env): RootCheck {
  const listed = dirList(env.ROTOR_PLUGIN_DIRS);
  if (key.startsWith('npm:')) {
    if (listed.includes('npm')) return { ok: true };
    return {
      ok: false,
      message: 'is not loaded: plug-ins are code, and npm packages are not allowed as plug-ins here',
      hint: 'to trust installed npm packages as rotator plug-ins, add npm to ROTOR_PLUGIN_DIRS (e.g. ROTOR_PLUGIN_DIRS=npm)',
    };
  }
  if (
    insideAny(
      key,
      listed.filter((d) => d !== 'npm'),
    )
  )
    return { ok: true };
  return {
    ok: false,
    message: 'is not loaded: plug-ins are code, and ROTOR_PLUGIN_DIRS does not list a directory that holds it',
    hint: `to trust the plug-ins in its directory, set ROTOR_PLUGIN_DIRS=${dirname(realPathOf(key))} (':'-separated directories; the entry npm allows installed packages)`,
  };
}
