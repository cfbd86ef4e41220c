// The README's policy examples are complete policies: each `secrets:` block validates as it is
// printed, and the freeze example with a secret added. An example that drifts from the schema (a
// renamed field, a new required one) fails here, not in a reader's first try.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPolicies } from '../../../src/policy/load.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = [...README.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
const dir = mkdtempSync(join(tmpdir(), 'rotor-readme-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function problemsOf(text: string): Promise<string[]> {
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, text);
  // Env files in the examples are relative paths, under the checkout (the env-file root by default).
  const result = await loadPolicies(dir, { cwd: ROOT });
  return result.problems.map((p) => `${p.line}:${p.col} ${p.message}`);
}

describe('README policy examples', () => {
  const policies = blocks.filter((b) => b.startsWith('secrets:'));
  it('has the rotator examples', () => {
    for (const rotator of ['aws-iam-access-key', 'ldap', 'http', 'random-secret'])
      expect(policies.some((b) => b.includes(`rotator: ${rotator}`))).toBe(true);
  });

  it.each(policies.map((b) => [/rotator: (\S+)/.exec(b)?.[1] ?? '?', b]))('the %s example validates', async (_name, text) => {
    expect(await problemsOf(text)).toEqual([]);
  });

  it('the freeze example validates', async () => {
    const freezes = blocks.find((b) => b.startsWith('freezes:'));
    expect(freezes).toBeDefined();
    expect(await problemsOf(`${freezes}secrets:\n  - { id: partners/portal-key, owner: ops, rotator: manual, cadence: 90d }\n`)).toEqual(
      [],
    );
  });
});
