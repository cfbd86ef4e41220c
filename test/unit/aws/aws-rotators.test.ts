// The AWS parts that need no network: plan's single-credential flag for aws-rds-master, policy
// validation of both rotators and the AWS store, random values, SDK error classification and the
// SDK log sanitizer.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DBInstanceNotFoundFault, RDSServiceException } from '@aws-sdk/client-rds';
import { awsError } from '../../../src/aws/errors.js';
import { sanitizeForLog } from '../../../src/aws/sdk-logger.js';
import { runPlan } from '../../../src/cli/plan.js';
import { PermanentError, RotorError, UnavailableError } from '../../../src/errors.js';
import { builtInRotator } from '../../../src/rotator/catalogue.js';
import { rdsPasswordRules } from '../../../rotators/aws-rds-master/schema.js';
import { generatePassword } from '../../../src/rotator/password.js';
import { entropyBits, generateValue } from '../../../rotators/random-secret/index.js';
import { matchesRules } from '../../../rotators/random-secret/generate.js';

const POLICY = `
secrets:
  - id: orders/db-master
    owner: orders
    cadence: 30d
    grace: 10m
    rotator: aws-rds-master
    target: { instanceId: orders-db, region: eu-central-1 }
    store: { backend: aws-secrets-manager, secretId: prod/orders/db-master, region: eu-central-1 }
  - id: hooks/signing-key
    owner: hooks
    cadence: 30d
    grace: 1h
    rotator: random-secret
    generate: { length: 32, alphabet: base64url }
    store: { backend: aws-secrets-manager, secretId: "arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod/hooks/signing-AbCdEf" }
`;

describe('rotor plan with the AWS rotators', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rotor-aws-plan-'));
    await writeFile(join(dir, 'aws.yaml'), POLICY);
  });
  afterAll(async () => dir && rm(dir, { recursive: true, force: true }));

  it('flags aws-rds-master as single-credential (no-overlap) and random-secret not', async () => {
    let text = '';
    const out = new Writable({
      write: (c, _e, done) => {
        text += String(c);
        done();
      },
    });
    expect(await runPlan({ dir, at: new Date('2026-01-05T10:00:00Z'), json: true, out })).toBe(0);
    const plan = JSON.parse(text) as Array<{ id: string; flags: Array<{ flag: string }>; targetKey: string }>;
    const byId = new Map(plan.map((e) => [e.id, e]));
    expect(byId.get('orders/db-master')!.flags.map((f) => f.flag)).toContain('no-overlap');
    expect(byId.get('orders/db-master')!.targetKey).toBe('rds://eu-central-1/instance/orders-db');
    expect(byId.get('hooks/signing-key')!.flags.map((f) => f.flag)).not.toContain('no-overlap');
  });
});

describe('aws-rds-master parameters', () => {
  const schema = builtInRotator('aws-rds-master')!.paramsSchema;
  it('needs exactly one of instanceId and clusterId, and applies defaults', () => {
    expect(schema.safeParse({ target: { instanceId: 'a', clusterId: 'b' } }).success).toBe(false);
    expect(schema.safeParse({ target: {} }).success).toBe(false);
    expect(schema.parse({ target: { instanceId: 'a' } })).toMatchObject({
      target: { sslmode: 'require', applyTimeout: '10m', pollInterval: '5s' },
      generate: { length: 32 },
    });
    expect(schema.safeParse({ target: { instanceId: 'a' }, generate: { length: 200 } }).success).toBe(false);
  });
  it('never uses the characters RDS refuses, whatever the policy excludes', () => {
    const rules = rdsPasswordRules({ length: 128, exclude: '' });
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) for (const c of generatePassword(rules)) seen.add(c);
    for (const c of ['/', '"', '@', ' ']) expect(seen).not.toContain(c);
    expect(seen).toContain(':');
  });
});

describe('random-secret values', () => {
  it.each([
    [{ length: 32, alphabet: 'alnum', encoding: 'plain' }, /^[A-Za-z0-9]{32}$/],
    [{ length: 16, alphabet: 'hex', encoding: 'plain' }, /^[0-9a-f]{32}$/],
    [{ length: 32, alphabet: 'base64url', encoding: 'plain' }, /^[A-Za-z0-9_-]{43}$/],
    [{ length: 24, alphabet: 'ascii-printable', encoding: 'plain' }, /^[!-~]{24}$/],
  ] as const)('%o makes values of the right shape, different each time', (rules, shape) => {
    const a = generateValue(rules);
    const b = generateValue(rules);
    expect(a).toMatch(shape);
    expect(a).not.toBe(b);
    expect(matchesRules(a, rules)).toBe(true);
    expect(entropyBits(rules)).toBeGreaterThanOrEqual(95);
  });
  it('base64-encodes the generated text when asked, and the shape check sees through it', () => {
    const rules = { length: 20, alphabet: 'alnum', encoding: 'base64' } as const;
    const v = generateValue(rules);
    expect(Buffer.from(v, 'base64').toString('utf8')).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(matchesRules(v, rules)).toBe(true);
    expect(matchesRules(Buffer.from('x'.repeat(19)).toString('base64'), rules)).toBe(false);
  });
});

describe('AWS errors', () => {
  const call = { action: 'rds:ModifyDBInstance', resource: 'orders-db' };
  it('makes AccessDenied permanent, naming the action and the resource', () => {
    const denied = new RDSServiceException({
      name: 'AccessDenied',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
      message: 'User: x is not authorized',
    });
    const err = awsError(denied, call) as PermanentError;
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain('AWS denied rds:ModifyDBInstance on orders-db');
    expect(err.hint).toContain('allow rds:ModifyDBInstance on orders-db');
  });
  it('retries throttling and server faults, not client mistakes; says when no region is set', () => {
    const throttled = new RDSServiceException({
      name: 'Throttling',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: 'Rate exceeded',
    });
    expect(awsError(throttled, call)).toBeInstanceOf(UnavailableError);
    const server = new RDSServiceException({
      name: 'InternalFailure',
      $fault: 'server',
      $metadata: { httpStatusCode: 500 },
      message: 'boom',
    });
    expect(awsError(server, call)).toBeInstanceOf(UnavailableError);
    const notFound = new DBInstanceNotFoundFault({ message: 'DBInstance x not found.', $metadata: {} });
    const other = awsError(notFound, call);
    expect(other).toBeInstanceOf(RotorError);
    expect(other).not.toBeInstanceOf(PermanentError);
    expect(awsError(new Error('Region is missing'), call)).toBeInstanceOf(PermanentError);
  });
});

describe('the SDK log sanitizer', () => {
  it('drops value fields and keeps ids', () => {
    const out = sanitizeForLog([
      {
        input: { SecretId: 'a', ClientRequestToken: 'tok-123456', SecretString: '{"password":"p"}', MasterUserPassword: 'p2' },
        output: { KmsKeyId: 'k', SecretBinary: new Uint8Array(3) },
      },
    ]);
    expect(out).toEqual([
      {
        input: { SecretId: 'a', ClientRequestToken: 'tok-123456', SecretString: '[redacted]', MasterUserPassword: '[redacted]' },
        output: { KmsKeyId: 'k', SecretBinary: '[redacted]' },
      },
    ]);
  });
});
