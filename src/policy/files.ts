// Which files are policies: every `*.yaml` / `*.yml` under a directory, recursively.
import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { InvalidInputError } from '../errors.js';

/** In a stable order; directories and files whose name starts with `.` are skipped (.git, editors). */
export async function listPolicyFiles(dir: string): Promise<string[]> {
  const root = resolve(dir);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new InvalidInputError(`policy directory ${dir} does not exist`, { hint: 'pass the directory that holds your *.yaml policies' });
  }
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .filter((file) => !relative(root, file).split(/[\\/]/).some((part) => part.startsWith('.')))
    .sort();
}
