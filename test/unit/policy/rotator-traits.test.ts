// The rotator catalogue: what each rotator promises, and what unknown names get.
import { describe, expect, it } from 'vitest';
import { knownRotators, builtInRotator, targetKeyOf, rotatorTraits } from '../../../src/rotator/catalogue.js';

function traits(name: string, params: Record<string, unknown>, id = 'team/s') {
  const entry = builtInRotator(name);
  if (!entry) throw new Error(`no ${name}`);
  const parsed = entry.paramsSchema.parse(params);
  return rotatorTraits({ id, rotator: { name, params: parsed } });
}

const admin = 'env:ADMIN_URL';

describe('the rotator catalogue', () => {
  it('knows every built-in rotator', () => {
    expect(knownRotators()).toEqual(['aws-rds-master', 'command', 'http', 'mysql', 'postgres', 'random-secret', 'redis-acl']);
  });

  it('says postgres alternating users overlap and a single user does not', () => {
    const target = { host: 'db.internal', database: 'app', admin };
    expect(traits('postgres', { strategy: 'alternating-users', target: { ...target, users: ['a_a', 'a_b'], group: 'a' } })).toEqual({
      overlap: true,
      drain: true,
      targetKey: 'postgres://db.internal:5432/app',
    });
    expect(traits('postgres', { strategy: 'single-user', target: { ...target, user: 'a' } }).overlap).toBe(false);
  });

  it('says an RDS master password never overlaps', () => {
    expect(traits('aws-rds-master', { target: { clusterId: 'pay', region: 'eu-central-1' } })).toEqual({
      overlap: false,
      drain: false,
      targetKey: 'rds://eu-central-1/cluster/pay',
    });
  });

  it('needs exactly one of instanceId and clusterId for RDS', () => {
    expect(builtInRotator('aws-rds-master')?.paramsSchema.safeParse({ target: { instanceId: 'a', clusterId: 'b' } }).success).toBe(false);
    expect(builtInRotator('aws-rds-master')?.paramsSchema.safeParse({ target: {} }).success).toBe(false);
  });

  it('gives each random secret a target of its own', () => {
    expect(traits('random-secret', {}, 'a/b')).toEqual({
      overlap: true,
      drain: false,
      storeIsTarget: true,
      targetKey: 'random-secret://a/b',
    });
  });

  it('keys a Redis ACL user by all of its nodes, with no drain check (Redis cannot tell old-password connections apart)', () => {
    const t = traits('redis-acl', { target: { user: 'u', nodes: [{ host: 'b' }, { host: 'a', port: 6380 }], admin } });
    // Hosts a and b are reached over a network without TLS: flagged; the first rotation revokes inherited passwords.
    expect(t).toEqual({
      overlap: true,
      drain: false,
      targetKey: 'redis://a:6380,b:6379/u',
      revokesInherited: true,
      weakTransport: 'no TLS to b:6379, a:6380',
    });
  });

  it('takes overlap of the command rotator from its parameters, false unless declared', () => {
    expect(traits('command', { target: { executable: '/x' } }).overlap).toBe(false);
    expect(traits('command', { target: { executable: '/x' }, overlap: true }).overlap).toBe(true);
    expect(traits('command', { target: { executable: '/x', inUse: true } }).drain).toBe(true);
  });

  it('computes the target key of a resolved secret', () => {
    const params =
      builtInRotator('postgres')?.paramsSchema.parse({ strategy: 'single-user', target: { database: 'app', user: 'a', admin } }) ?? {};
    expect(targetKeyOf({ id: 's', rotator: { name: 'postgres', params } })).toBe('postgres://(env:ADMIN_URL)/app');
  });
});
