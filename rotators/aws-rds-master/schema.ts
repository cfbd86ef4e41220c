// Parameters of the aws-rds-master rotator, as written under a secret in a policy.
import { z } from 'zod';
import { duration } from '../../src/policy/fields.js';
import { DEFAULT_EXCLUDED_CHARACTERS } from '../../src/rotator/params.js';
import { AWS_REGION_PATTERN } from '../../src/store/aws-location.js';

/** Engines whose credential rotor can verify by logging in (node-postgres; mysql2 for the MySQL family). */
export const VERIFIABLE_ENGINES = ['postgres', 'aurora-postgresql', 'mysql', 'mariadb', 'aurora-mysql'] as const;

/** RDS refuses these in a master password whatever the policy says: `/`, `"`, `@` and space. */
export const RDS_FORBIDDEN_CHARACTERS = '/"@ ';

/** The master password of an RDS instance or Aurora cluster (ModifyDBInstance/ModifyDBCluster). */
export const awsRdsMasterParamsSchema = z.strictObject({
  target: z
    .strictObject({
      instanceId: z.string().min(1).optional(),
      clusterId: z.string().min(1).optional(),
      /** @defaultValue the AWS SDK's region (AWS_REGION) */
      region: z.string().regex(AWS_REGION_PATTERN, { error: 'must be an AWS region such as eu-central-1' }).optional(),
      /** Where verify logs in; @defaultValue the endpoint RDS reports */
      host: z.string().min(1).optional(),
      port: z.number().int().min(1).max(65535).optional(),
      /** @defaultValue the instance's DBName (the cluster's DatabaseName), else postgres (none for MySQL engines) */
      database: z.string().min(1).optional(),
      /** @defaultValue the engine RDS reports */
      engine: z.enum(VERIFIABLE_ENGINES).optional(),
      /**
       * TLS for verify's connection: `prefer` tries TLS without checking the certificate and falls
       * back to plain TCP; RDS PostgreSQL 15 and later refuse plain TCP by default (rds.force_ssl).
       * @defaultValue require
       */
      sslmode: z.enum(['disable', 'prefer', 'require', 'verify-full']).default('require'),
      /** How long RDS may take to apply a new password before the attempt fails (and is retried). @defaultValue 10m */
      applyTimeout: duration().default('10m'),
      /** How often rotor asks RDS whether the password is applied. @defaultValue 5s */
      pollInterval: duration().default('5s'),
    })
    .refine((t) => (t.instanceId === undefined) !== (t.clusterId === undefined), {
      error: 'name exactly one of instanceId (an RDS instance) or clusterId (an Aurora cluster)',
    }),
  generate: z
    .strictObject({
      /** RDS PostgreSQL takes up to 128 characters, MySQL and MariaDB up to 41. @defaultValue 32 */
      length: z.number().int().min(16).max(128).default(32),
      /** Characters never used, besides the ones RDS refuses (`/"@` and space). @defaultValue `:/@"'\` */
      exclude: z.string().default(DEFAULT_EXCLUDED_CHARACTERS),
    })
    .default({ length: 32, exclude: DEFAULT_EXCLUDED_CHARACTERS }),
});

export type AwsRdsMasterParams = z.infer<typeof awsRdsMasterParamsSchema>;

/** The policy's rules plus the characters RDS refuses, whatever the policy excludes. */
export function rdsPasswordRules(rules: AwsRdsMasterParams['generate']): AwsRdsMasterParams['generate'] {
  return { ...rules, exclude: rules.exclude + RDS_FORBIDDEN_CHARACTERS };
}
