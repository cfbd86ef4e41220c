// The rotators a policy may name: each one's parameter schema and what it promises (traits),
// known without loading its code, so `validate` and `plan` work on any machine.
import type { z } from 'zod';
import { postgresParamsSchema, type PostgresParams } from '../../rotators/postgres/schema.js';
import type { ResolvedSecret } from '../policy/types.js';
import type { RotatorTraits } from './contract.js';
import { loadedPlugin } from './plugins.js';
import { commandRotatorParamsSchema } from '../../rotators/command/schema.js';
import { redisAclParamsSchema } from '../../rotators/redis-acl/schema.js';
import { awsRdsMasterParamsSchema } from '../../rotators/aws-rds-master/schema.js';
import { randomSecretParamsSchema } from '../../rotators/random-secret/schema.js';

/** Keys of a secret in a policy that belong to its rotator: together they are `rotator.params`. */
export const ROTATOR_PARAM_KEYS = ['strategy', 'target', 'generate', 'overlap'] as const;

export interface RotatorEntry {
  readonly name: string;
  /** Validates the rotator's parameters; its output (defaults applied) is what the rotator gets. */
  readonly paramsSchema: z.ZodType<Record<string, unknown>>;
  /** Traits of validated params. `secretId` names the target of rotators that have no other. */
  traits(params: Record<string, unknown>, secretId: string): RotatorTraits;
}

/** Ties a schema to its traits function with the schema's own type, then erases it for the map. */
function entry<P extends Record<string, unknown>>(
  name: string,
  paramsSchema: z.ZodType<P>,
  traits: (params: P, secretId: string) => RotatorTraits,
): RotatorEntry {
  // Safe: traits only ever receives the output of paramsSchema.
  return { name, paramsSchema, traits: traits as (params: Record<string, unknown>, secretId: string) => RotatorTraits };
}

function postgresTraits(p: PostgresParams): RotatorTraits {
  // Roles are per server, so without a host the admin reference stands for the server.
  const server = p.target.host ?? `(${p.target.admin})`;
  return {
    overlap: p.strategy === 'alternating-users',
    drain: true,
    targetKey: `postgres://${server}:${p.target.port ?? 5432}/${p.target.database}`,
  };
}

const ENTRIES: RotatorEntry[] = [
  entry('postgres', postgresParamsSchema, postgresTraits),
  entry('aws-rds-master', awsRdsMasterParamsSchema, (p) => ({
    // One master password: the old one stops working the moment RDS applies the new one.
    overlap: false,
    drain: false,
    targetKey: `rds://${p.target.region ?? 'default'}/${p.target.clusterId ? `cluster/${p.target.clusterId}` : `instance/${p.target.instanceId}`}`,
  })),
  entry('random-secret', randomSecretParamsSchema, (_p, secretId) => ({
    // The store is the only target: consumers read CURRENT and both versions stay readable.
    overlap: true,
    drain: false,
    targetKey: `random-secret://${secretId}`,
  })),
  entry('redis-acl', redisAclParamsSchema, (p) => ({
    overlap: true,
    // Redis cannot tell which of a user's passwords a connection used: no drain check (see rotators/redis-acl).
    drain: false,
    targetKey: `redis://${p.target.nodes.map((n) => `${n.host}:${n.port}`).sort().join(',')}/${p.target.user}`,
  })),
  entry('command', commandRotatorParamsSchema, (p) => ({
    overlap: p.overlap,
    drain: p.target.inUse,
    targetKey: `command://${[p.target.executable, ...p.target.args].join(' ')}`,
  })),
];

const BY_NAME = new Map(ENTRIES.map((e) => [e.name, e]));

export function rotatorEntry(name: string): RotatorEntry | undefined {
  return BY_NAME.get(name);
}

function loadedPluginEntry(key: string): RotatorEntry | undefined {
  const o = loadedPlugin(key);
  return o?.ok ? o.entry : undefined;
}

export function knownRotators(): string[] {
  return [...BY_NAME.keys()];
}

export function rotatorTraits(secret: Pick<ResolvedSecret, 'id' | 'rotator'>): RotatorTraits {
  // A plug-in is known once the policy loader (or loadRotators) has loaded it in this process.
  const e = BY_NAME.get(secret.rotator.name) ?? loadedPluginEntry(secret.rotator.name);
  if (!e) throw new Error(`rotator ${secret.rotator.name} is not in the registry (known: ${knownRotators().join(', ')})`);
  return e.traits(secret.rotator.params, secret.id);
}

/** Identity of the system a secret lives on: runs on one target are staggered. */
export function targetKeyOf(secret: Pick<ResolvedSecret, 'id' | 'rotator'>): string {
  return rotatorTraits(secret).targetKey;
}
