// The env-file consumer: writes the credential as KEY=VALUE lines, atomically and with mode 0600,
// for processes that read a file. It confirms by reading back the version marker it wrote.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { InvalidInputError } from '../../errors.js';
import { envFileAllowed } from '../../trust-roots.js';
import { implementConsumer } from '../contract.js';
import descriptor, { type EnvFileParams } from './descriptor.js';

export type { EnvFileParams } from './descriptor.js';

const VERSION_MARKER = '# rotor-version: ';

function envName(prefix: string | undefined, field: string): string {
  const name = field.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase();
  return prefix ? `${prefix.toUpperCase()}_${name}` : name;
}

/** Quotes a value so a shell `source` and dotenv parsers read it back unchanged. */
function quote(value: string | number): string {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

export const envFileConsumer = implementConsumer<EnvFileParams>(descriptor, {
  async notify(ctx, notice, value) {
    if (!value) throw new Error('env-file needs the value to write');
    const { path, key } = ctx.params;
    // Again at write time: a link may have been put on the way since the policy was loaded.
    const allowed = envFileAllowed(path);
    if (!allowed.ok) throw new InvalidInputError(allowed.message, { hint: allowed.hint });
    const lines = [
      `# written by rotor for ${notice.secretId}; do not edit`,
      `${VERSION_MARKER}${notice.versionId}`,
      ...Object.entries(value).map(([field, v]) => `${envName(key, field)}=${quote(v)}`),
    ];
    await mkdir(dirname(path), { recursive: true });
    // Write a private temp file next to the target and rename it over: readers see the old file or
    // the new one, never half of one, and the value is never readable by other users.
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(lines.join('\n') + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  },
  async confirm(ctx) {
    const text = await readFile(ctx.params.path, 'utf8').catch(() => '');
    const line = text.split('\n').find((l) => l.startsWith(VERSION_MARKER));
    return line ? line.slice(VERSION_MARKER.length).trim() : null;
  },
});
