// Which files are policies: every `*.yaml` / `*.yml` under a directory, recursively, following
// symlinks that stay inside it (a Kubernetes ConfigMap volume is all links into `..data`).
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InvalidInputError } from '../errors.js';

const POLICY_NAME = /\.ya?ml$/;

/**
 * In a stable order; directories and files whose name starts with `.` are skipped (.git, editors,
 * ConfigMap's `..data`, which the visible links lead into). A file reached twice is listed once.
 * Throws InvalidInputError for a link that leaves the directory and for a link loop.
 */
export async function listPolicyFiles(dir: string): Promise<string[]> {
  const root = resolve(dir);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new InvalidInputError(`policy directory ${dir} does not exist`, { hint: 'pass the directory that holds your *.yaml policies' });
  }
  const realRoot = await realpath(root);
  const files: string[] = [];
  const seen = new Set<string>();
  const add = (path: string, real: string) => {
    if (seen.has(real)) return;
    seen.add(real);
    files.push(path);
  };
  // `ancestors`: real paths of the directories being walked; a link to one of them is a loop.
  const walk = async (shown: string, real: string, ancestors: ReadonlySet<string>): Promise<void> => {
    const entries: Dirent[] = (await readdir(shown, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const path = join(shown, e.name);
      if (e.isDirectory()) {
        const r = join(real, e.name);
        await walk(path, r, new Set(ancestors).add(r));
      } else if (e.isFile()) {
        if (POLICY_NAME.test(e.name)) add(path, join(real, e.name));
      } else if (e.isSymbolicLink()) {
        await followLink(path, e.name, ancestors);
      }
    }
  };
  const followLink = async (path: string, name: string, ancestors: ReadonlySet<string>): Promise<void> => {
    let target: string;
    try {
      target = await realpath(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw loop(path);
      // Dangling: a policy name is listed, and reported as unreadable with the other problems.
      if (POLICY_NAME.test(name)) add(path, path);
      return;
    }
    const rel = relative(realRoot, target);
    // `..2026_01_01/x` is inside (ConfigMap's directories start with two dots); `../x` is not.
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new InvalidInputError(`${path} is a symlink to ${target}, outside the policy directory ${root}`, {
        hint: 'copy the file into the policy directory, or point rotor at a directory that holds both',
      });
    }
    const st = await stat(target);
    if (st.isDirectory()) {
      if (ancestors.has(target)) throw loop(path);
      await walk(path, target, new Set(ancestors).add(target));
    } else if (st.isFile() && POLICY_NAME.test(name)) {
      add(path, target);
    }
  };
  await walk(root, realRoot, new Set([realRoot]));
  return files.sort();
}

function loop(path: string): InvalidInputError {
  return new InvalidInputError(`${path} is a symlink loop: it leads back to a directory it is in`, {
    hint: 'remove the link, or point it at a directory that does not contain it',
  });
}
