// `rotor validate`: all problems with file:line:col, a summary, JSON on request, exit code 2.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runValidate } from '../../../src/cli/validate.js';
import { EXIT } from '../../../src/cli/exit-codes.js';
import { textSink } from '../../helpers/sink.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURES = `${REPO}test/fixtures/policies/`;

const sink = textSink;

describe('rotor validate', () => {
  it('accepts the example policies in policies/', async () => {
    const s = sink();
    expect(await runValidate({ dir: `${REPO}policies`, out: s.out })).toBe(EXIT.OK);
    expect(s.text()).toMatch(/^ok: \d+ secrets, 4 classes in \d+ files\n$/);
  });

  it('prints every problem with file:line:col and what to do, then counts them', async () => {
    const s = sink();
    expect(await runValidate({ dir: `${FIXTURES}many-problems`, out: s.out })).toBe(EXIT.USAGE);
    const lines = s.text().trimEnd().split('\n');
    expect(lines[0]).toMatch(/many-problems\/a\.yaml:3:14: \[team\/one\] unknown rotator `postgress`$/);
    expect(lines[1]).toBe('  → did you mean `postgres`?');
    expect(lines.at(-1)).toBe('3 problems in 2 files');
  });

  it('prints the problems as a JSON array with --json', async () => {
    const s = sink();
    await runValidate({ dir: `${FIXTURES}unknown-store`, json: true, out: s.out });
    expect(JSON.parse(s.text())).toEqual([
      expect.objectContaining({
        line: 5,
        col: 23,
        secretId: 'team/api-key',
        code: 'unknown-store',
        hint: 'known backends: local, aws-secrets-manager, kubernetes, vault-kv',
      }),
    ]);
  });

  it('resolves references only with --resolve, against the given environment', async () => {
    const dir = `${FIXTURES}unresolvable-reference`;
    expect(await runValidate({ dir, out: sink().out, env: {} })).toBe(EXIT.OK);
    expect(await runValidate({ dir, resolve: true, out: sink().out, env: {} })).toBe(EXIT.USAGE);
  });

  it('exits 2 from the rotor executable on a malformed policy', () => {
    const r = spawnSync(process.execPath, [`${REPO}bin/rotor.js`, 'validate', `${FIXTURES}invalid-cron`], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/invalid-cron\/policy\.yaml:4:22: \[team\/api-key\] cron expression "0 25 \* \* 1" is invalid/);
  });

  it('exits 2 when the directory does not exist', () => {
    const r = spawnSync(process.execPath, [`${REPO}bin/rotor.js`, 'validate', `${REPO}no-such-dir`], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('does not exist');
  });
});
