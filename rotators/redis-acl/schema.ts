// Parameters of the redis-acl rotator, as written under a secret in a policy.
import { z } from 'zod';
import { credentialRef } from '../../src/rotator/params.js';
import { strongGenerateRulesSchema } from '../../src/rotator/password.js';

const port = z.number().int().min(1).max(65535);

const generate = strongGenerateRulesSchema;

/** A Redis ACL user with two passwords during grace (`ACL SETUSER u >new`, later `<old`). */
export const redisAclParamsSchema = z.strictObject({
  target: z.strictObject({
    user: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, { error: 'must be a Redis ACL user name' }),
    /** Every node: ACLs are not replicated, so each one is changed and checked. */
    nodes: z.array(z.strictObject({ host: z.string().min(1), port: port.default(6379), tls: z.boolean().default(false) })).min(1),
    /**
     * Reference to a redis:// URL of a user allowed to run ACL SETUSER, ACL GETUSER, ACL SAVE,
     * CLIENT LIST and CLIENT KILL (CONFIG GET is used when allowed). Only its user name and
     * password are used: rotor connects to each node the policy lists.
     */
    admin: credentialRef(),
  }),
  generate,
});

export type RedisAclParams = z.infer<typeof redisAclParamsSchema>;
export type RedisNode = RedisAclParams['target']['nodes'][number];

/** `host:port`, how errors and the target key name a node. */
export const nodeName = (n: RedisNode): string => `${n.host}:${n.port}`;
