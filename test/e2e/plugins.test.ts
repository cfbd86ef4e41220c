// Plug-ins and the conformance suite through the rotor executable: `rotor validate` on broken and
// working plug-ins (exit codes, file:line:col), and `rotor conformance` as a plug-in author runs it,
// also in a project of their own outside this repository.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, rotor as run, runNode } from '../helpers/cli.js';

const ROOT = REPO_ROOT;
// The fixtures' plug-ins are trusted explicitly, as an operator would (README: Security → Trust model).
const rotor = (args: string[]) =>
  run(args, { ROTOR_LOG_LEVEL: 'warn', ROTOR_PLUGIN_DIRS: `${join(ROOT, 'test/fixtures/plugins')}:npm` }, ROOT);

describe('rotor validate with plug-ins', () => {
  it('exits 2 and says, at the rotator: line, what is wrong with each broken plug-in', async () => {
    const r = await rotor(['validate', 'test/fixtures/plugins/broken']);
    expect(r.code).toBe(2);
    const f = 'test/fixtures/plugins/broken/policy.yaml';
    expect(r.stdout).toContain(`${f}:3:14`);
    expect(r.stdout).toContain('rotator plug-in `./missing-method.ts` half-done: does not implement verify(), revoke()');
    expect(r.stdout).toContain(`${f}:5:14`);
    expect(r.stdout).toContain('no-schema: paramsSchema is not a zod 4 schema');
    expect(r.stdout).toContain(`${f}:7:14`);
    expect(r.stdout).toContain('throws while loading: ACME_ENDPOINT_THAT_IS_NEVER_SET is not set');
    expect(r.stdout).toMatch(/thrown at test\/fixtures\/plugins\/broken\/throws-on-load\.ts:3:\d+/);
    expect(r.stdout).toContain('implements rotator contract version 99; this rotor implements version 1');
  });

  it('accepts a working plug-in next to built-in rotators', async () => {
    const r = await rotor(['validate', 'test/fixtures/plugins/valid']);
    expect(r.stdout).toBe('ok: 2 secrets, 0 classes in 1 file\n');
    expect(r.code).toBe(0);
  });
});

describe('rotor conformance', () => {
  it('passes the command rotator with its example in one command', async () => {
    const r = await rotor(['conformance', 'command', '--harness', 'examples/command-rotator/conformance-harness.mjs']);
    expect(r.stdout).toContain('conformance of command:');
    expect(r.stdout).toContain('✓ inUse counts a live session');
    // Its harness makes a key by hand before rotor; the first rotation deletes it (invariant 7).
    expect(r.stdout).toContain("✓ the first rotation leaves only rotor's credential working");
    expect(r.stdout).toContain('9 of 9 checks passed');
    expect(r.code).toBe(0);
    // About 40 runs of the example script, one node process each: slow on a loaded machine.
  }, 180_000);

  it('runs on a plug-in file with a parameter file, and fails a rotator that breaks its promises', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-conformance-'));
    writeFileSync(join(dir, 'params.json'), JSON.stringify({ target: { file: join(dir, 'target.json') } }));
    const ok = await rotor(['conformance', './test/fixtures/plugins/file-rotator.ts', '--params', join(dir, 'params.json')]);
    // --params gives no inherited(): that check is said not to have run, never counted as passed.
    expect(ok.stdout).toMatch(
      /– the first rotation leaves only rotor's credential working[^\n]*\n\s+not run: the harness gives no inherited\(\)/,
    );
    expect(ok.stdout).toContain('7 of 8 checks passed, 1 not run');
    expect(ok.code).toBe(0);

    // A rotator whose revoke does nothing: the old credential keeps working. (An ES module, as in
    // any project with "type": "module".)
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
    writeFileSync(
      join(dir, 'lazy.ts'),
      `import base from '${join(ROOT, 'test/fixtures/plugins/file-rotator.ts')}';\nexport default { ...base, name: 'lazy', revoke: async () => undefined };\n`,
    );
    const bad = await rotor(['conformance', join(dir, 'lazy.ts'), '--params', join(dir, 'params.json')]);
    expect(bad.stdout).toMatch(
      /✗ revoke makes the old credential fail[^\n]*\n\s+verify accepted the old credential after revoke; it must throw/,
    );
    expect(bad.stdout).toContain('4 of 8 checks passed, 1 not run');
    expect(bad.code).toBe(7); // the rotator's fault, told apart from rotor's own (1)
  });

  it('refuses a broken plug-in with the same message as validate, exit 2', async () => {
    const r = await rotor(['conformance', './test/fixtures/plugins/broken/missing-method.ts', '--params', 'x.json']);
    expect(r.stderr).toContain('half-done: does not implement verify(), revoke()');
    expect(r.code).toBe(2);
  });
});

describe('a plug-in in a project of its own', () => {
  it('written against rotor/rotator, passes rotor conformance run from its directory', async () => {
    // Outside the repository, as a plug-in author's project: rotor is installed in its
    // node_modules (a symlink to this checkout, as `npm link` makes), and so is zod, which the
    // plug-in declares its parameters with.
    const dir = mkdtempSync(join(tmpdir(), 'rotor-plugin-project-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(ROOT, join(dir, 'node_modules', 'rotor'), 'dir');
      symlinkSync(join(ROOT, 'node_modules', 'zod'), join(dir, 'node_modules', 'zod'), 'dir');
      writeFileSync(
        join(dir, 'package.json'),
        JSON.stringify({ name: 'acme-rotator', type: 'module', dependencies: { rotor: '*', zod: '^4' } }),
      );
      writeFileSync(join(dir, 'acme-rotator.ts'), ACME_PLUGIN);
      writeFileSync(join(dir, 'params.yaml'), 'target:\n  file: ./keys.json\n');
      const r = await runNode(
        [join(dir, 'node_modules', 'rotor', 'bin', 'rotor.js'), 'conformance', './acme-rotator.ts', '--params', 'params.yaml'],
        { ROTOR_LOG_LEVEL: 'warn' },
        dir,
      );
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('conformance of acme-keys:');
      expect(r.stdout).toContain('7 of 8 checks passed, 1 not run');
      expect(r.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A rotator plug-in as docs/plugins.md shows it: rotor's public entry and zod, nothing else. */
const ACME_PLUGIN = `import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ROTATOR_CONTRACT_VERSION, PermanentError, defineRotator, type SecretValue } from 'rotor/rotator';

const paramsSchema = z.strictObject({ target: z.strictObject({ file: z.string().min(1) }) });
type Params = z.infer<typeof paramsSchema>;

const keys = (p: Params): string[] => {
  try {
    return JSON.parse(readFileSync(resolve(p.target.file), 'utf8')) as string[];
  } catch {
    return [];
  }
};
const save = (p: Params, list: string[]) => writeFileSync(resolve(p.target.file), JSON.stringify(list));

export default defineRotator<Params>({
  name: 'acme-keys',
  contractVersion: ROTATOR_CONTRACT_VERSION,
  paramsSchema,
  traits: (p) => ({ overlap: true, drain: false, targetKey: \`acme://\${resolve(p.target.file)}\` }),
  async generate() {
    return { apiKey: randomBytes(18).toString('base64url') };
  },
  async apply(ctx, next) {
    const list = keys(ctx.params);
    if (!list.includes(String(next.apiKey))) save(ctx.params, [...list, String(next.apiKey)]);
  },
  async verify(ctx, value: SecretValue) {
    if (!keys(ctx.params).includes(String(value.apiKey))) throw new Error(\`\${ctx.secretId}: the key does not work\`);
  },
  async revoke(ctx, revoke, keep) {
    const list = keys(ctx.params);
    // keep is null when a failed first rotation's key is taken back: nothing of rotor's stays.
    if (keep && !list.includes(String(keep.apiKey))) throw new PermanentError(\`\${ctx.secretId}: refusing to revoke: the key to keep does not work\`);
    save(ctx.params, list.filter((k) => k !== revoke.apiKey));
  },
});
`;
