// Durations and references as policies write them.
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/policy/duration.js';
import { isRef, parseRef, resolveRef } from '../../../src/policy/refs.js';

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['12h', 43_200_000],
    ['30d', 2_592_000_000],
    ['2w', 1_209_600_000],
    ['1h30m', 5_400_000],
    ['1d2h3m4s5ms', 93_784_005],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '30', '30 d', '1.5h', '30m1h', '10m10m', 'd', '-5s', '1y'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('writes durations back in the same syntax', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(2_592_000_000)).toBe('4w2d');
    expect(formatDuration(0)).toBe('0s');
  });
});

describe('references', () => {
  const base = { baseDir: '/etc/rotor/policies', env: { DB_URL: 'postgres://x' }, readFile: async (p: string) => `value of ${p}\n` };

  it('recognizes env:, file:, aws-sm: and vault: references and nothing else', () => {
    expect(parseRef('env:DB_URL')).toEqual({ kind: 'env', name: 'DB_URL' });
    expect(parseRef('file:keys/a.key')).toEqual({ kind: 'file', name: 'keys/a.key' });
    expect(parseRef('aws-sm:prod/db')).toEqual({ kind: 'aws-sm', name: 'prod/db' });
    expect(parseRef('vault:secret/rotor/admin#url')).toEqual({ kind: 'vault', name: 'secret/rotor/admin#url' });
    for (const text of ['env:', 'env:1X', 'postgres://u:p@h', 'db.internal', 'vault:', 'consul:x']) expect(isRef(text)).toBe(false);
  });

  it('resolves env: from the environment', async () => {
    expect(await resolveRef('env:DB_URL', base)).toBe('postgres://x');
  });

  it('resolves file: relative to the policy directory, without the trailing newline', async () => {
    expect(await resolveRef('file:keys/a.key', base)).toBe('value of /etc/rotor/policies/keys/a.key');
    expect(await resolveRef('file:/run/secrets/b', base)).toBe('value of /run/secrets/b');
  });

  it('says what is missing without printing any value', async () => {
    await expect(resolveRef('env:NOPE', base)).rejects.toThrow('environment variable NOPE is not set');
    const failing = { ...base, readFile: async () => Promise.reject(Object.assign(new Error('x'), { code: 'ENOENT' })) };
    await expect(resolveRef('file:gone', failing)).rejects.toThrow(/cannot read \/etc\/rotor\/policies\/gone .*ENOENT/);
  });

  it('needs an injected reader for aws-sm: and says so when there is none', async () => {
    await expect(resolveRef('aws-sm:prod/db', base)).rejects.toThrow('AWS Secrets Manager, which is not configured here');
    expect(await resolveRef('aws-sm:prod/db', { ...base, awsSecretsManager: async (id) => `sm:${id}` })).toBe('sm:prod/db');
  });

  it('refuses a reference that resolves to nothing', async () => {
    await expect(resolveRef('env:EMPTY', { ...base, env: { EMPTY: '' } })).rejects.toThrow('empty value');
  });
});
