// Rotator plug-ins named in policies: loaded, checked (contract version, methods, schema) and
// reported with file:line:col at validate time; a working one validates its parameters, gives
// plan its traits, and is what the runtime runs.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadPolicies } from '../../../src/policy/load.js';
import { loadRotators, rotatorFor } from '../../../src/rotator/catalogue.js';
import { targetKeyOf } from '../../../src/rotator/catalogue.js';
import { isPluginSpec, pluginKey } from '../../../src/rotator/plugins.js';
import { silentLogger } from '../../../src/log.js';

const FIXTURES = new URL('../../fixtures/plugins/', import.meta.url).pathname;
const cwd = join(FIXTURES, '..', '..', '..');

// The fixtures' plug-ins are trusted explicitly, as an operator would (README: Security → Trust model).
vi.stubEnv('ROTOR_PLUGIN_DIRS', new URL('../../../', import.meta.url).pathname + 'test/fixtures/plugins:npm');
afterAll(() => vi.unstubAllEnvs());

describe('rotator plug-ins in policies', () => {
  it('reports every broken plug-in at its rotator: line, saying what is wrong and what to do', async () => {
    const { problems, secretCount } = await loadPolicies(join(FIXTURES, 'broken'), { cwd });
    expect(secretCount).toBe(0);
    const file = 'test/fixtures/plugins/broken/policy.yaml';
    const byId = Object.fromEntries(problems.map((p) => [p.secretId, p]));
    expect(byId['plugins/missing-method']).toMatchObject({
      file,
      line: 3,
      col: 14,
      code: 'invalid-plugin',
      message: 'rotator plug-in `./missing-method.ts` half-done: does not implement verify(), revoke()',
    });
    expect(byId['plugins/bad-schema']).toMatchObject({
      line: 5,
      col: 14,
      code: 'invalid-plugin',
      message: 'rotator plug-in `./bad-schema.ts` no-schema: paramsSchema is not a zod 4 schema',
    });
    expect(byId['plugins/throws-on-load']).toMatchObject({
      line: 7,
      col: 14,
      code: 'invalid-plugin',
      message: 'rotator plug-in `./throws-on-load.ts` throws while loading: ACME_ENDPOINT_THAT_IS_NEVER_SET is not set',
    });
    expect(byId['plugins/throws-on-load']?.hint).toMatch(
      /^thrown at test\/fixtures\/plugins\/broken\/throws-on-load\.ts:3:\d+; fix the plug-in/,
    );
    expect(byId['plugins/wrong-version']).toMatchObject({
      line: 9,
      code: 'invalid-plugin',
      message: 'rotator plug-in `./wrong-version.ts` implements rotator contract version 99; this rotor implements version 1',
    });
    expect(byId['plugins/no-such-file']).toMatchObject({
      line: 11,
      code: 'invalid-plugin',
      message: 'rotator plug-in `./no-such-plugin.ts` cannot be loaded: no such file',
    });
    expect(byId['plugins/no-such-file']?.hint).toContain(join(FIXTURES, 'broken', 'no-such-plugin.ts'));
    expect(byId['plugins/not-installed']).toMatchObject({
      line: 13,
      code: 'invalid-plugin',
      message:
        'rotator plug-in `npm:rotor-rotator-not-installed-anywhere` cannot be loaded: package rotor-rotator-not-installed-anywhere is not installed',
      hint: 'install it where rotor runs: npm install rotor-rotator-not-installed-anywhere',
    });
    // A plug-in that loads has its parameters checked like a built-in's.
    expect(problems.filter((p) => p.secretId === 'plugins/bad-params').map((p) => [p.line, p.code, p.message])).toEqual([
      [16, 'missing-field', 'missing required field `target.file`'],
      [16, 'unknown-field', 'unknown field `path` in `target`'],
    ]);
  });

  it('resolves a working plug-in: its key is the absolute path, plan gets its traits, workers load it', async () => {
    const { problems, secrets } = await loadPolicies(join(FIXTURES, 'valid'), { cwd });
    expect(problems).toEqual([]);
    const plugin = secrets.find((s) => s.id === 'plugins/file-passwords');
    expect(plugin?.rotator).toEqual({
      name: join(FIXTURES, 'file-rotator.ts'),
      params: { target: { file: '/tmp/rotor-plugin-fixture.json' } },
    });
    expect(targetKeyOf(plugin!)).toBe('file:///tmp/rotor-plugin-fixture.json');

    await loadRotators([plugin!.rotator.name]);
    const rotator = rotatorFor(plugin!.rotator.name);
    expect(rotator.name).toBe('file-passwords');
    const file = join(mkdtempSync(join(tmpdir(), 'rotor-plugin-')), 'target.json');
    writeFileSync(file, JSON.stringify({ passwords: [] }));
    const ctx = {
      secretId: 's',
      runId: 'r',
      params: rotator.paramsSchema.parse({ target: { file } }),
      resolveRef: async () => '',
      log: silentLogger,
      signal: new AbortController().signal,
    };
    const v = await rotator.generate(ctx, null);
    await rotator.apply(ctx, v, null);
    await expect(rotator.verify(ctx, v)).resolves.toBeUndefined();
  });

  it('refuses to start a runtime whose policies name a broken plug-in', async () => {
    await expect(loadRotators([join(FIXTURES, 'broken', 'missing-method.ts')])).rejects.toThrow(
      /does not implement verify\(\), revoke\(\)/,
    );
  });

  it('tells plug-in specs from built-in names', () => {
    expect(['./a.ts', '../a.ts', '/abs/a.ts', 'npm:rotor-rotator-x'].map(isPluginSpec)).toEqual([true, true, true, true]);
    expect(['postgres', 'redis-acl', 'command'].map(isPluginSpec)).toEqual([false, false, false]);
    expect(pluginKey('./p/a.ts', '/etc/rotor/policies/x.yaml')).toBe('/etc/rotor/policies/p/a.ts');
    expect(pluginKey('npm:@acme/rotor-rotators/api', '/x.yaml')).toBe('npm:@acme/rotor-rotators/api');
    expect(pluginKey('npm:Not Valid', '/x.yaml')).toBeUndefined();
  });
});
