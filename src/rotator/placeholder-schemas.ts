// Parameter schemas of the rotators whose code comes in later issues. The policy format names
// them already, so policies written today stay valid when the code lands; each schema moves next
// to its rotator (as rotators/postgres/schema.ts did) when it is built.
import { z } from 'zod';
import { credentialRef, generateRulesSchema } from './params.js';
import { duration } from '../policy/fields.js';

const port = z.number().int().min(1).max(65535);
const awsRegion = z.string().regex(/^[a-z]{2}(?:-[a-z]+)+-\d$/, { error: 'must be an AWS region such as eu-central-1' });

/** The master password of an RDS instance or Aurora cluster (ModifyDBInstance/ModifyDBCluster). */
export const awsRdsMasterParamsSchema = z.strictObject({
  target: z
    .strictObject({
      instanceId: z.string().min(1).optional(),
      clusterId: z.string().min(1).optional(),
      /** @defaultValue the AWS SDK's region (AWS_REGION) */
      region: awsRegion.optional(),
      /** Where verify logs in; @defaultValue the endpoint RDS reports */
      host: z.string().min(1).optional(),
      port: port.optional(),
      database: z.string().min(1).optional(),
      engine: z.enum(['postgres', 'aurora-postgresql', 'mysql', 'aurora-mysql', 'mariadb']).optional(),
    })
    .refine((t) => (t.instanceId === undefined) !== (t.clusterId === undefined), {
      error: 'name exactly one of instanceId (an RDS instance) or clusterId (an Aurora cluster)',
    }),
  generate: generateRulesSchema,
});

export const RANDOM_ALPHABETS = ['alnum', 'hex', 'base64', 'base64url', 'ascii-printable'] as const;

/** A value rotor makes up itself (API keys, signing keys); its consumers are the whole target. */
export const randomSecretParamsSchema = z.strictObject({
  generate: z
    .strictObject({
      /** Characters of the value (alnum, ascii-printable), or random bytes (hex, base64, base64url). */
      length: z.number().int().min(16).max(1024).default(32),
      alphabet: z.enum(RANDOM_ALPHABETS).default('alnum'),
      /** plain: stored as generated; base64: stored base64-encoded, for systems that expect that. */
      encoding: z.enum(['plain', 'base64']).default('plain'),
    })
    .default({ length: 32, alphabet: 'alnum', encoding: 'plain' }),
});

/** A Redis ACL user with two passwords during grace (`ACL SETUSER u >new`, later `<old`). */
export const redisAclParamsSchema = z.strictObject({
  target: z.strictObject({
    user: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, { error: 'must be a Redis ACL user name' }),
    /** Every node: ACLs are not replicated, so each one is changed and checked. */
    nodes: z.array(z.strictObject({ host: z.string().min(1), port: port.default(6379), tls: z.boolean().default(false) })).min(1),
    /** Reference to a redis:// URL of a user allowed to run ACL SETUSER. */
    admin: credentialRef(),
  }),
  generate: generateRulesSchema,
});

/** The user's own executable, for any third-party API: called with a step name, reads JSON on stdin. */
export const commandRotatorParamsSchema = z.strictObject({
  target: z.strictObject({
    executable: z.string().min(1),
    args: z.array(z.string()).default([]),
    /** @defaultValue 60s */
    timeout: duration().default('60s'),
    /** Extra environment; values that are credentials must be references. */
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
  }),
  /** Whether old and new credentials both work until revoke; say false when unsure. @defaultValue false */
  overlap: z.boolean().default(false),
});
