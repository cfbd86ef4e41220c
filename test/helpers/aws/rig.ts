// What the AWS engine tests share: a master role on the private PostgreSQL standing for an RDS
// instance's master user, and the policies of the two AWS rotators on the fakes.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ResolvedSecret } from '../../../src/policy/types.js';
import type { TestDatabase } from '../postgres.js';
import { FAKE_REGION } from './secrets-manager.js';

/** A login role with a password nobody will use: RDS's master user before rotor's first rotation. */
export async function createMasterRole(db: TestDatabase, prefix: string): Promise<string> {
  const role = `${prefix}_${randomBytes(3).toString('hex')}`;
  await db.pool.query(
    `create role ${pg.escapeIdentifier(role)} login password ${pg.escapeLiteral(`initial-${randomBytes(16).toString('hex')}`)}`,
  );
  return role;
}

export async function dropRole(db: TestDatabase, role: string): Promise<void> {
  await db.pool.query(`drop role if exists ${pg.escapeIdentifier(role)}`).catch(() => undefined);
}

/** The `store:` of a secret kept in the Secrets Manager fake under `name`. */
export function awsStore(name: string): ResolvedSecret['store'] {
  return {
    backend: 'aws-secrets-manager',
    location: `${FAKE_REGION}:${name}`,
    params: { backend: 'aws-secrets-manager', secretId: name, region: FAKE_REGION },
  };
}

/** The rotator of an RDS instance (or cluster) on the fake, polling fast. */
export function rdsMasterRotator(target: { instanceId?: string; clusterId?: string }): ResolvedSecret['rotator'] {
  return {
    name: 'aws-rds-master',
    params: { target: { ...target, region: FAKE_REGION, sslmode: 'disable', pollInterval: '40ms', applyTimeout: '20s' } },
  };
}
