// The trust model, enforced (README: Security → Trust model): a policy cannot make rotor run its
// code, hand rotor's own settings to a process, read files outside the reference roots (rotor's
// master key least of all) or write env files outside their root. Each refusal is exit 2 with
// file:line:col and names the setting to change.
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runValidate } from '../../../src/cli/validate.js';
import { EXIT } from '../../../src/cli/exit-codes.js';
import { loadRotators } from '../../../src/rotator/catalogue.js';
import { textSink } from '../../helpers/sink.js';

const dirs: string[] = [];
afterEach(() => {
  vi.unstubAllEnvs();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-trust-'));
  dirs.push(dir);
  return dir;
}

async function validate(dir: string, resolve = false): Promise<{ code: number; text: string }> {
  const s = textSink();
  const code = await runValidate({ dir, out: s.out, env: {}, ...(resolve ? { resolve } : {}) });
  return { code, text: s.text() };
}

const secret = (extra: string, rotator = 'random-secret') => `secrets:\n  - id: team/k\n    owner: team\n    rotator: ${rotator}\n${extra}`;

/** A plug-in that leaves a mark when imported: proof that its code ran. */
function evilPlugin(dir: string, name: string): string {
  const mark = join(dir, `${name}.ran`);
  writeFileSync(
    join(dir, `${name}.mjs`),
    `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(mark)}, String(process.env.ROTOR_MASTER_KEY));\nexport default {};\n`,
  );
  return mark;
}

describe('plug-ins run only from directories ROTOR_PLUGIN_DIRS lists', () => {
  it('validate does not import a plug-in a policy names, and says which setting allows it', async () => {
    const dir = tempDir();
    const mark = evilPlugin(dir, 'evil');
    writeFileSync(join(dir, 'p.yaml'), secret('', './evil.mjs'));
    const r = await validate(dir);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.text).toMatch(/p\.yaml:4:14: .*rotator plug-in `\.\/evil\.mjs` is not loaded: plug-ins are code/);
    expect(r.text).toContain(`ROTOR_PLUGIN_DIRS=`);
    expect(existsSync(mark)).toBe(false);
  });

  it('imports it once its directory is listed (symlinks resolved), and never from elsewhere', async () => {
    const dir = tempDir();
    const mark = evilPlugin(dir, 'listed');
    writeFileSync(join(dir, 'p.yaml'), secret('', './listed.mjs'));
    const link = join(tempDir(), 'link');
    symlinkSync(dir, link);
    vi.stubEnv('ROTOR_PLUGIN_DIRS', `/nowhere:${link}`);
    const r = await validate(dir);
    expect(existsSync(mark)).toBe(true);
    expect(r.text).toContain('implements rotator contract version (none)');
  });

  it('the runtime refuses it too: rotor start loads plug-ins from the same directories only', async () => {
    const dir = tempDir();
    const mark = evilPlugin(dir, 'runtime');
    await expect(loadRotators([join(dir, 'runtime.mjs')])).rejects.toThrow(/is not loaded: plug-ins are code/);
    expect(existsSync(mark)).toBe(false);
  });
});

describe("rotor's own settings are never handed to a command", () => {
  it("refuses ROTOR_* in a command consumer's inheritEnv and in the command rotator's env references", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'a.yaml'),
      secret('    consumers:\n      - { type: command, name: reload, run: /bin/true, inheritEnv: [HTTP_PROXY, ROTOR_MASTER_KEY] }\n'),
    );
    writeFileSync(
      join(dir, 'b.yaml'),
      `secrets:\n  - id: team/c\n    owner: team\n    rotator: command\n    target:\n      executable: ./x\n      env:\n        KEY: env:ROTOR_DATABASE_URL\n        OK: env:VENDOR_TOKEN\n`,
    );
    const r = await validate(dir);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.text).toMatch(/a\.yaml:6:\d+: \[team\/k\] `consumers\[0\]\.inheritEnv\[1\]` is one of rotor's own settings \(ROTOR_\*\)/);
    expect(r.text).toMatch(/b\.yaml:8:14: .*rotor's own settings \(ROTOR_\*\)/);
    expect(r.text).not.toMatch(/VENDOR_TOKEN|HTTP_PROXY/);
  });
});

describe('file: references read only inside ROTOR_REF_FILE_ROOTS', () => {
  const withRef = (ref: string) =>
    secret(`    consumers:\n      - { type: webhook, url: https://x.internal/reload, secret: "file:${ref}" }\n`);

  it("never reads rotor's master key, not even through a symlink in the policy directory", async () => {
    const home = tempDir();
    writeFileSync(join(home, 'master.key'), 'a'.repeat(64));
    vi.stubEnv('ROTOR_HOME', home);
    const root = tempDir();
    mkdirSync(join(root, 'keys'));
    mkdirSync(join(root, 'policies'));
    symlinkSync(join(home, 'master.key'), join(root, 'keys', 'hook.key'));
    writeFileSync(join(root, 'policies', 'p.yaml'), withRef('../keys/hook.key'));
    // Even with rotor's home listed as a root.
    vi.stubEnv('ROTOR_REF_FILE_ROOTS', `${root}:${home}`);
    const r = await validate(join(root, 'policies'), true);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.text).toMatch(/p\.yaml:6:\d+: .*inside rotor's own directory \(ROTOR_HOME\)/);
    expect(r.text).not.toContain('a'.repeat(16));
  });

  it("refuses a file outside the roots (the policy file's directory by default), naming ROTOR_REF_FILE_ROOTS", async () => {
    const elsewhere = tempDir();
    writeFileSync(join(elsewhere, 'hook.key'), 'k3y-material');
    const dir = tempDir();
    writeFileSync(join(dir, 'inside.key'), 'k3y-material');
    writeFileSync(join(dir, 'p.yaml'), withRef(join(elsewhere, 'hook.key')));
    const outside = await validate(dir, true);
    expect(outside.code).toBe(EXIT.USAGE);
    expect(outside.text).toMatch(/is outside the directories file: references may read/);
    expect(outside.text).toContain('ROTOR_REF_FILE_ROOTS');
    writeFileSync(join(dir, 'p.yaml'), withRef('../' + join(dir, 'inside.key').split('/').slice(-2).join('/')));
    expect((await validate(dir, true)).code).toBe(EXIT.OK);
    writeFileSync(join(dir, 'p.yaml'), withRef(join(elsewhere, 'hook.key')));
    vi.stubEnv('ROTOR_REF_FILE_ROOTS', elsewhere);
    expect((await validate(dir, true)).code).toBe(EXIT.OK);
  });
});

describe('env-file consumers write only under ROTOR_ENV_FILE_ROOT', () => {
  const withPath = (path: string) => secret(`    consumers:\n      - { type: env-file, name: app, path: "${path}" }\n`);

  it('refuses ../ out of the working directory and a symlink out of the root, naming the setting', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'p.yaml'), withPath('../outside.env'));
    const up = await validate(dir);
    expect(up.code).toBe(EXIT.USAGE);
    expect(up.text).toMatch(/p\.yaml:6:\d+: .*outside the directory env files may be written to.*ROTOR_ENV_FILE_ROOT/);

    const root = tempDir();
    const elsewhere = tempDir();
    mkdirSync(join(root, 'apps'));
    symlinkSync(elsewhere, join(root, 'apps', 'out'));
    vi.stubEnv('ROTOR_ENV_FILE_ROOT', root);
    writeFileSync(join(dir, 'p.yaml'), withPath(join(root, 'apps', 'out', 'app.env')));
    const link = await validate(dir);
    expect(link.code).toBe(EXIT.USAGE);
    expect(link.text).toContain(`(really ${join(elsewhere, 'app.env')})`);
    writeFileSync(join(dir, 'p.yaml'), withPath(join(root, 'apps', 'new', 'app.env')));
    expect((await validate(dir)).code).toBe(EXIT.OK);
  });
});
