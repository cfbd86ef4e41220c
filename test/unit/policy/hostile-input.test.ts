// Hostile policy files: deep nesting, huge maps, alias bombs and oversized files end in exit 2 with
// file:line:col and the setting to change, quickly; never in a stack overflow (exit 1) or minutes of CPU.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runValidate } from '../../../src/cli/validate.js';
import { EXIT } from '../../../src/cli/exit-codes.js';
import { textSink } from '../../helpers/sink.js';

const SECRET = '  - id: team/api-key\n    owner: team\n    rotator: random-secret\n';
const dirs: string[] = [];
const saved = { ...process.env };

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  for (const k of Object.keys(process.env)) if (k.startsWith('ROTOR_POLICY_')) delete process.env[k];
  Object.assign(process.env, saved);
});

function policyDir(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-hostile-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

async function validate(dir: string): Promise<{ code: number; text: string; ms: number }> {
  const s = textSink();
  const t = performance.now();
  const code = await runValidate({ dir, out: s.out, env: {} });
  return { code, text: s.text(), ms: performance.now() - t };
}

describe('deep nesting', () => {
  const cases: Record<string, string> = {
    'flow lists': `secrets:\n${SECRET}    description: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`,
    'flow maps': `secrets:\n${SECRET}    description: ${'{a: '.repeat(10_000)}b${'}'.repeat(10_000)}\n`,
    // 1,500 levels of indentation are already 1.1 MB.
    'block maps': `secrets:\n${SECRET}    description:\n${Array.from({ length: 1_500 }, (_, i) => `${' '.repeat(6 + i)}a:`).join('\n')}\n`,
    // A tab sends the file to the full YAML library instead of the fast parser.
    'flow lists, full parser': `secrets:\n${SECRET}    description:\t${'['.repeat(10_000)}${']'.repeat(10_000)}\n`,
    'block lists, full parser': `secrets:\t\n${SECRET}    description:\n${Array.from({ length: 1_500 }, (_, i) => `${' '.repeat(6 + i)}-`).join('\n')}\n`,
  };
  for (const [name, text] of Object.entries(cases)) {
    it(`refuses 1,500-10,000 levels of ${name} with exit 2, file:line:col and the setting, in well under 2 s`, async () => {
      const r = await validate(policyDir({ 'deep.yaml': text }));
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.text).toMatch(/deep\.yaml:\d+:\d+: .*nested deeper than 64 levels/);
      expect(r.text).toContain('ROTOR_POLICY_MAX_DEPTH');
      // ≤ 1 s on an idle machine (bench); the margin is for a shared one.
      expect(r.ms).toBeLessThan(2_000);
    });
  }

  it('takes a higher depth from ROTOR_POLICY_MAX_DEPTH', async () => {
    const text = `secrets:\n${SECRET}    tags: ${'['.repeat(70)}${']'.repeat(70)}\n`;
    expect((await validate(policyDir({ 'p.yaml': text }))).text).toContain('ROTOR_POLICY_MAX_DEPTH');
    process.env.ROTOR_POLICY_MAX_DEPTH = '100';
    expect((await validate(policyDir({ 'p.yaml': text }))).text).not.toContain('ROTOR_POLICY_MAX_DEPTH');
  });
});

describe('size limits', () => {
  const bigMap = (n: number, sep = ' ') =>
    `secrets:\n${SECRET}    target:\n${Array.from({ length: n }, (_, i) => `      k${i}:${sep}v`).join('\n')}\n`;

  // Both took 70-220 s (a quadratic duplicate-key check). The fast parser's file now takes ~0.2 s
  // (its problems located by the fast parser too); the yaml library's ~2 s, so its bound leaves
  // room for a shared machine and still fails the quadratic check.
  it('checks a map of 50,000 keys in under 2 s (duplicate keys are found in linear time)', async () => {
    const r = await validate(policyDir({ 'big.yaml': bigMap(50_000) }));
    expect([EXIT.OK, EXIT.USAGE]).toContain(r.code);
    expect(r.text).not.toContain('internal error');
    expect(r.ms).toBeLessThan(2_000);
  });

  it('finds a duplicate key among 50,000 in the full parser in seconds', async () => {
    const r = await validate(policyDir({ 'big.yaml': `${bigMap(50_000, '\t')}      k7: again\n` }));
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.text).toMatch(/big\.yaml:50006:7: duplicate key/);
    expect(r.ms).toBeLessThan(10_000);
  });

  it('refuses a map with more keys than ROTOR_POLICY_MAX_KEYS, in both parsers', async () => {
    process.env.ROTOR_POLICY_MAX_KEYS = '100';
    for (const sep of [' ', '\t']) {
      const r = await validate(policyDir({ 'big.yaml': bigMap(101, sep) }));
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.text).toMatch(/big\.yaml:106:7: .*more than 100 keys/);
      expect(r.text).toContain('ROTOR_POLICY_MAX_KEYS');
    }
  });

  it('refuses a file larger than ROTOR_POLICY_MAX_FILE_BYTES without parsing it', async () => {
    process.env.ROTOR_POLICY_MAX_FILE_BYTES = '1000';
    const r = await validate(policyDir({ 'big.yaml': `secrets:\n${SECRET}    description: ${'x'.repeat(2_000)}\n` }));
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.text).toMatch(/big\.yaml:1:1: .*larger than 1000 bytes/);
    expect(r.text).toContain('ROTOR_POLICY_MAX_FILE_BYTES');
  });

  it('refuses more secrets in one file than ROTOR_POLICY_MAX_SECRETS', async () => {
    process.env.ROTOR_POLICY_MAX_SECRETS = '3';
    const secrets = Array.from({ length: 4 }, (_, i) => `  - { id: team/s${i}, rotator: random-secret }`).join('\n');
    const r = await validate(policyDir({ 'many.yaml': `secrets:\n${secrets}\n` }));
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.text).toMatch(/many\.yaml:5:5: .*more than 3 secrets/);
    expect(r.text).toContain('ROTOR_POLICY_MAX_SECRETS');
  });

  it('says which setting is malformed', async () => {
    process.env.ROTOR_POLICY_MAX_DEPTH = 'deep';
    await expect(validate(policyDir({ 'p.yaml': `secrets:\n${SECRET}` }))).rejects.toThrow(/ROTOR_POLICY_MAX_DEPTH/);
  });

  it('bounds alias expansion ("billion laughs")', async () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const r = await validate(policyDir({ 'bomb.yaml': `${lines.join('\n')}\nsecrets:\n${SECRET}` }));
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.ms).toBeLessThan(2_000);
  });
});
