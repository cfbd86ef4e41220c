// Each malformed policy under test/fixtures/policies/<case>/ is reported at the right
// file:line:col with a message that names the problem (and `rotor validate` exits 2 on it).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPolicies, type LoadOptions } from '../../../src/policy/load.js';
import type { Problem } from '../../../src/policy/problems.js';

const ROOT = fileURLToPath(new URL('../../fixtures/policies/', import.meta.url));

async function problems(
  name: string,
  opts: LoadOptions = {},
): Promise<Array<Pick<Problem, 'code' | 'secretId' | 'message'> & { at: string }>> {
  const result = await loadPolicies(`${ROOT}${name}`, { cwd: ROOT, ...opts });
  return result.problems.map((p) => ({ at: `${p.file}:${p.line}:${p.col}`, code: p.code, secretId: p.secretId, message: p.message }));
}

describe('policy fixtures', () => {
  it('accepts a valid policy', async () => {
    const result = await loadPolicies(`${ROOT}valid`, { cwd: ROOT });
    expect(result.problems).toEqual([]);
    expect(result.secrets.map((s) => s.id)).toEqual(['team/api-key']);
  });

  it('reports YAML syntax errors where the parser stopped, and checks nothing else in the file', async () => {
    expect(await problems('yaml-syntax')).toEqual([
      { at: 'yaml-syntax/policy.yaml:5:5', code: 'yaml-syntax', secretId: undefined, message: expect.stringContaining('Flow sequence') },
    ]);
  });

  it('reports a key written twice at the second one', async () => {
    expect(await problems('duplicate-key')).toEqual([
      {
        at: 'duplicate-key/policy.yaml:5:5',
        code: 'duplicate-key',
        secretId: undefined,
        message: expect.stringContaining('duplicate key'),
      },
    ]);
  });

  it('reports an unknown field at its key and suggests the closest known one', async () => {
    const result = await loadPolicies(`${ROOT}unknown-field`, { cwd: ROOT });
    expect(result.problems).toEqual([
      expect.objectContaining({
        file: 'unknown-field/policy.yaml',
        line: 7,
        col: 5,
        code: 'unknown-field',
        secretId: 'team/api-key',
        message: 'unknown field `cadance` in secret',
        hint: 'did you mean `cadence`?',
      }),
    ]);
  });

  it('reports a value of the wrong type at the value, saying what it got', async () => {
    const result = await loadPolicies(`${ROOT}wrong-type`, { cwd: ROOT });
    expect(result.problems).toEqual([
      expect.objectContaining({
        line: 9,
        col: 13,
        code: 'wrong-type',
        message: '`target.port` must be a number, not the text "5432"',
        hint: 'remove the quotes: YAML reads a quoted value as text',
      }),
    ]);
  });

  it('reports a missing required field at the map that lacks it', async () => {
    expect(await problems('missing-field')).toEqual([
      {
        at: 'missing-field/policy.yaml:6:5',
        code: 'missing-field',
        secretId: 'team/db',
        message: 'missing required field `target.database`',
      },
    ]);
  });

  it('reports an unknown class with the closest defined one', async () => {
    const result = await loadPolicies(`${ROOT}unknown-class`, { cwd: ROOT });
    expect(result.problems).toEqual([
      expect.objectContaining({
        line: 6,
        col: 12,
        code: 'unknown-class',
        message: 'unknown class `critcal`',
        hint: 'did you mean `critical`?',
      }),
    ]);
  });

  it('reports an unknown rotator and lists the known ones', async () => {
    const result = await loadPolicies(`${ROOT}unknown-rotator`, { cwd: ROOT });
    expect(result.problems).toEqual([
      expect.objectContaining({
        line: 4,
        col: 14,
        code: 'unknown-rotator',
        message: 'unknown rotator `random`',
        hint: 'known rotators: aws-iam-access-key, aws-rds-master, command, http, ldap, manual, mysql, postgres, random-secret, redis-acl',
      }),
    ]);
  });

  it('reports an unknown store backend and lists the known ones', async () => {
    const result = await loadPolicies(`${ROOT}unknown-store`, { cwd: ROOT });
    expect(result.problems).toEqual([
      expect.objectContaining({
        line: 5,
        col: 23,
        code: 'unknown-store',
        message: 'unknown store backend `vault`',
        hint: 'known backends: local, aws-secrets-manager, kubernetes, vault-kv',
      }),
    ]);
  });

  it('reports an unknown consumer type at its type', async () => {
    const result = await loadPolicies(`${ROOT}unknown-consumer-type`, { cwd: ROOT });
    expect(result.problems).toEqual([
      expect.objectContaining({
        line: 7,
        col: 17,
        code: 'unknown-consumer-type',
        message: 'unknown consumer type `webhok`',
        hint: 'did you mean `webhook`?',
      }),
    ]);
  });

  it('reports a secret id used in two files, naming both places', async () => {
    expect(await problems('duplicate-id')).toEqual([
      {
        at: 'duplicate-id/b.yaml:5:9',
        code: 'duplicate-id',
        secretId: 'team/api-key',
        message: 'secret id `team/api-key` is already used at duplicate-id/a.yaml:2:9',
      },
    ]);
  });

  it('leaves both secrets of a duplicate id out of the result', async () => {
    const result = await loadPolicies(`${ROOT}duplicate-id`, { cwd: ROOT });
    expect(result.secrets.map((s) => s.id)).toEqual(['other/key']);
  });

  it('reports a dependsOn entry that names no secret at the entry, suggesting the closest id', async () => {
    const result = await loadPolicies(`${ROOT}unknown-dependency`, { cwd: ROOT });
    expect(result.problems).toEqual([
      expect.objectContaining({
        file: 'unknown-dependency/policy.yaml',
        line: 8,
        col: 32,
        code: 'unknown-dependency',
        secretId: 'team/api-key',
        message: 'dependsOn names `team/db-admn`, which is no secret in these policies',
        hint: 'did you mean `team/db-admin`?',
      }),
    ]);
    expect(result.secrets.map((s) => s.id)).toEqual(['team/db-admin']);
  });

  it('reports a dependsOn cycle at each entry of it, and a secret that depends on itself', async () => {
    expect(await problems('dependency-cycle')).toEqual([
      {
        at: 'dependency-cycle/policy.yaml:5:17',
        code: 'dependency-cycle',
        secretId: 'team/db-admin',
        message: 'dependsOn forms a cycle: `team/db-admin` → `team/api-key` → `team/db-admin`',
      },
      {
        at: 'dependency-cycle/policy.yaml:10:9',
        code: 'dependency-cycle',
        secretId: 'team/api-key',
        message: 'dependsOn forms a cycle: `team/db-admin` → `team/api-key` → `team/db-admin`',
      },
      {
        at: 'dependency-cycle/policy.yaml:14:17',
        code: 'dependency-cycle',
        secretId: 'team/self',
        message: 'dependsOn forms a cycle: `team/self` → `team/self`',
      },
    ]);
  });

  it('reports a class defined in two files, naming both places', async () => {
    expect(await problems('duplicate-class')).toEqual([
      {
        at: 'duplicate-class/b.yaml:2:3',
        code: 'duplicate-class',
        secretId: undefined,
        message: 'class `standard` is defined twice; the other definition is at duplicate-class/a.yaml:2:3',
      },
    ]);
  });

  it('reports a cadence that is not an interval', async () => {
    expect(await problems('invalid-cadence')).toEqual([
      {
        at: 'invalid-cadence/policy.yaml:4:14',
        code: 'invalid-cadence',
        secretId: 'team/api-key',
        message: 'cadence `30 days` is not an interval',
      },
    ]);
  });

  it('reports an invalid cron expression at the expression, with the parser’s reason', async () => {
    expect(await problems('invalid-cron')).toEqual([
      {
        at: 'invalid-cron/policy.yaml:4:22',
        code: 'invalid-cron',
        secretId: 'team/api-key',
        message: expect.stringMatching(/^cron expression "0 25 \* \* 1" is invalid: .*0-23/),
      },
    ]);
  });

  it('reports an unknown time zone where the class sets it', async () => {
    expect(await problems('invalid-timezone')).toEqual([
      {
        at: 'invalid-timezone/policy.yaml:4:41',
        code: 'invalid-timezone',
        secretId: undefined,
        message: 'unknown time zone `Europe/Berln`',
      },
    ]);
  });

  it('reports window hours that are not HH:MM-HH:MM', async () => {
    expect(await problems('invalid-window')).toEqual([
      {
        at: 'invalid-window/policy.yaml:6:14',
        code: 'invalid-window',
        secretId: 'team/api-key',
        message: 'window hours `22:00-26:00` are not HH:MM-HH:MM',
      },
    ]);
  });

  it('reports grace not shorter than the cadence, for cron at its shortest gap', async () => {
    expect(await problems('grace-exceeds-cadence')).toEqual([
      {
        at: 'grace-exceeds-cadence/policy.yaml:7:12',
        code: 'grace-exceeds-cadence',
        secretId: 'team/api-key',
        message: expect.stringContaining('grace 2d is not shorter than the cadence 1d'),
      },
      {
        at: 'grace-exceeds-cadence/policy.yaml:12:12',
        code: 'grace-exceeds-cadence',
        secretId: 'team/weekly-key',
        message: expect.stringContaining('cadence 1d (the shortest gap of cron "0 3 * * 1,2" UTC)'),
      },
    ]);
  });

  it('reports credentials written as literals anywhere, and nothing else at those places', async () => {
    expect(await problems('credential-literal')).toEqual([
      {
        at: 'credential-literal/policy.yaml:10:14',
        code: 'credential-literal',
        secretId: 'team/db',
        message: expect.stringContaining('a URL with a password'),
      },
      {
        at: 'credential-literal/policy.yaml:16:31',
        code: 'credential-literal',
        secretId: 'team/vendor',
        message: expect.stringContaining('`VENDOR_PASSWORD`'),
      },
      {
        at: 'credential-literal/policy.yaml:16:73',
        code: 'credential-literal',
        secretId: 'team/vendor',
        message: expect.stringContaining('an AWS access key id'),
      },
      {
        at: 'credential-literal/policy.yaml:17:18',
        code: 'credential-literal',
        secretId: 'team/vendor',
        message: expect.stringContaining('a PEM block'),
      },
    ]);
  });

  it('checks references only when asked to resolve them', async () => {
    expect(await problems('unresolvable-reference')).toEqual([]);
  });

  it('reports references that do not resolve, with --resolve', async () => {
    expect(await problems('unresolvable-reference', { resolveRefs: { env: {} } })).toEqual([
      {
        at: 'unresolvable-reference/policy.yaml:9:14',
        code: 'unresolvable-reference',
        secretId: 'team/db',
        message: expect.stringContaining('environment variable ROTOR_FIXTURE_UNSET_ADMIN_URL is not set'),
      },
      {
        at: 'unresolvable-reference/policy.yaml:11:69',
        code: 'unresolvable-reference',
        secretId: 'team/db',
        message: expect.stringMatching(/cannot read .*missing\.key.*ENOENT/),
      },
    ]);
  });

  it('reports an id that is not path-like', async () => {
    expect(await problems('invalid-id')).toEqual([
      { at: 'invalid-id/policy.yaml:2:9', code: 'invalid-id', secretId: 'Team:db', message: 'secret id `Team:db` is not a valid id' },
    ]);
  });

  it('reports every problem in every file at once, sorted by file and line', async () => {
    expect((await problems('many-problems')).map((p) => `${p.at} ${p.code}`)).toEqual([
      'many-problems/a.yaml:3:14 unknown-rotator',
      'many-problems/a.yaml:7:12 invalid-value',
      'many-problems/b.yaml:5:30 unknown-field',
    ]);
  });
});
