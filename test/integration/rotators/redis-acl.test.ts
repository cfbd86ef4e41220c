// The redis-acl rotator against a private primary + replica pair: the new password is added next
// to the old one on both nodes, a client on the old password keeps working through grace and is
// refused on both nodes after revoke; aclfiles are saved; a worker killed half way converges on
// the re-run; only password hashes are ever sent in ACL commands.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PermanentError, UnavailableError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import type { RotatorContext, SecretValue } from '../../../src/rotator/contract.js';
import rotator, { passwordHash, redisAclParamsSchema, type RedisAclParams } from '../../../rotators/redis-acl/index.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';

// Every command any ioredis client sends in this file, with its arguments.
const sent: string[][] = [];
const realCall = Redis.prototype.call;
vi.spyOn(Redis.prototype, 'call').mockImplementation(function (this: Redis, ...args: unknown[]) {
  sent.push(args.map(String));
  return (realCall as (...a: unknown[]) => unknown).apply(this, args);
} as typeof realCall);

const adminPassword = `adm-${randomBytes(12).toString('hex')}`;
const servers: RedisServerHandle[] = [];

afterAll(async () => {
  vi.restoreAllMocks();
  for (const s of servers) await s.stop();
});

/** A private Redis with rotor's admin user and the app user (no password yet). */
async function node(args: string[] = [], opts: { adminRules?: string[]; appUser?: boolean } = {}): Promise<RedisServerHandle> {
  const s = await startRedisServer({ args });
  servers.push(s);
  const c = new Redis(s.port, '127.0.0.1');
  // realCall: the test's own setup is not what the rotator sends.
  await realCall.call(c, 'ACL', 'SETUSER', 'rotor-admin', 'on', `>${adminPassword}`, ...(opts.adminRules ?? ['+@all', '~*']));
  if (opts.appUser !== false) await realCall.call(c, 'ACL', 'SETUSER', 'app', 'on', '~app:*', '+@read', '+@write', '+ping', '+auth');
  // The default user stays as it is (nopass): tests connect without credentials to look.
  c.disconnect();
  return s;
}

function ctxFor(servers: RedisServerHandle[], user = 'app'): RotatorContext<RedisAclParams> {
  return {
    secretId: 'cache/app',
    runId: `run-${randomBytes(3).toString('hex')}`,
    params: redisAclParamsSchema.parse({
      target: { user, nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })), admin: 'env:REDIS_ADMIN' },
    }),
    resolveRef: async () => `redis://rotor-admin:${encodeURIComponent(adminPassword)}@127.0.0.1:1`,
    log: silentLogger,
    signal: new AbortController().signal,
  };
}

/** Logs in on one node with a credential: 'ok' or the error code. */
async function login(s: RedisServerHandle, v: SecretValue): Promise<string> {
  const c = new Redis({
    port: s.port,
    host: '127.0.0.1',
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.call('AUTH', String(v.username), String(v.password));
    return 'ok';
  } catch (err) {
    return (err as Error).message.split(' ')[0] ?? 'error';
  } finally {
    c.disconnect();
  }
}

async function client(s: RedisServerHandle, v: SecretValue): Promise<Redis> {
  const c = new Redis({
    port: s.port,
    host: '127.0.0.1',
    username: String(v.username),
    password: String(v.password),
    enableReadyCheck: false,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
  });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

async function passwordsOn(s: RedisServerHandle, user = 'app'): Promise<string[]> {
  const c = new Redis(s.port, '127.0.0.1');
  const reply = (await realCall.call(c, 'ACL', 'GETUSER', user)) as unknown[];
  c.disconnect();
  return (reply[reply.indexOf('passwords') + 1] as string[]) ?? [];
}

/** Resolves once the replica's link to its primary is up. */
async function waitForReplica(replica: RedisServerHandle): Promise<void> {
  const r = new Redis(replica.port, '127.0.0.1');
  try {
    await waitFor(async () => String(await realCall.call(r, 'INFO', 'replication')).includes('master_link_status:up'), {
      message: 'the replica to sync',
    });
  } finally {
    r.disconnect();
  }
}

describe('redis-acl on a primary and a replica', () => {
  let primary: RedisServerHandle;
  let replica: RedisServerHandle;
  let ctx: RotatorContext<RedisAclParams>;
  let v1: SecretValue;
  let v2: SecretValue;
  const generated: string[] = [];

  beforeAll(async () => {
    // No diskless-sync delay, so the replica is in sync at once (the default waits 5 s).
    primary = await node(['--repl-diskless-sync-delay', '0']);
    replica = await node(['--replicaof', '127.0.0.1', String(primary.port)]);
    await waitForReplica(replica);
    ctx = ctxFor([primary, replica]);
  });

  it('passes preflight and bootstraps the first password on both nodes', async () => {
    await rotator.preflight?.(ctx, null);
    v1 = await rotator.generate(ctx, null);
    generated.push(String(v1.password));
    expect(v1).toMatchObject({ engine: 'redis', username: 'app', host: '127.0.0.1', port: primary.port });
    await rotator.apply(ctx, v1, null);
    await rotator.verify(ctx, v1);
    expect([await login(primary, v1), await login(replica, v1)]).toEqual(['ok', 'ok']);
  });

  it('keeps a client on the old password working through grace, and refuses it on both nodes after revoke', async () => {
    const onPrimary = await client(primary, v1);
    const onReplica = await client(replica, v1);
    await onPrimary.set('app:k', 'v');

    v2 = await rotator.generate(ctx, v1);
    generated.push(String(v2.password));
    await rotator.apply(ctx, v2, v1);
    await rotator.verify(ctx, v2);
    // Grace: two passwords; the old one still logs in anywhere, and open clients carry on.
    expect(await passwordsOn(primary)).toEqual([passwordHash(String(v1.password)), passwordHash(String(v2.password))]);
    expect(await passwordsOn(replica)).toEqual([passwordHash(String(v1.password)), passwordHash(String(v2.password))]);
    expect([await login(primary, v1), await login(replica, v1), await login(primary, v2), await login(replica, v2)]).toEqual([
      'ok',
      'ok',
      'ok',
      'ok',
    ]);
    expect(await onPrimary.set('app:k', 'v2')).toBe('OK');
    await expect.poll(() => onReplica.get('app:k')).toBe('v2');

    await rotator.revoke(ctx, v1, v2);
    expect([await login(primary, v1), await login(replica, v1)]).toEqual(['WRONGPASS', 'WRONGPASS']);
    expect([await login(primary, v2), await login(replica, v2)]).toEqual(['ok', 'ok']);
    await expect(rotator.verify(ctx, v1)).rejects.toThrow(
      /refused the credential for app on 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+ \(WRONGPASS\)/,
    );
    // A connection that authenticated before revoke is not dropped by Redis: re-authenticating is
    // refused, and terminate is what ends such connections.
    await expect(onPrimary.call('AUTH', 'app', String(v1.password))).rejects.toThrow(/WRONGPASS/);
    expect(await rotator.inUse?.(ctx, v2)).toBeGreaterThanOrEqual(2);
    expect(await rotator.terminate?.(ctx, v2)).toBeGreaterThanOrEqual(2);
    expect(await rotator.inUse?.(ctx, v2)).toBe(0);
    onPrimary.disconnect();
    onReplica.disconnect();
  });

  it('revokes and applies idempotently: nothing is sent to change a node already right', async () => {
    const from = sent.length;
    await rotator.revoke(ctx, v1, v2);
    await rotator.apply(ctx, v2, v1);
    expect(sent.slice(from).filter((c) => c[0] === 'ACL' && c[1] === 'SETUSER')).toEqual([]);
    expect(await passwordsOn(primary)).toEqual([passwordHash(String(v2.password))]);
  });

  it('converges when a worker died after changing only the first node', async () => {
    const v3 = await rotator.generate(ctx, v2);
    generated.push(String(v3.password));
    // What a worker killed between the two nodes leaves behind.
    const c = new Redis(primary.port, '127.0.0.1');
    await realCall.call(c, 'ACL', 'SETUSER', 'app', `#${passwordHash(String(v3.password))}`);
    c.disconnect();
    await expect(rotator.verify(ctx, v3)).rejects.toThrow(new RegExp(`on 127\\.0\\.0\\.1:${replica.port} \\(WRONGPASS\\) of 2 node`));
    await rotator.apply(ctx, v3, v2);
    await rotator.verify(ctx, v3);
    expect((await passwordsOn(primary)).length).toBe(2);
    // And a revoke half done: the replica already lost v3, the primary not yet (a rollback re-run).
    const r = new Redis(replica.port, '127.0.0.1');
    await realCall.call(r, 'ACL', 'SETUSER', 'app', `!${passwordHash(String(v3.password))}`);
    r.disconnect();
    await rotator.revoke(ctx, v3, v2);
    expect([await login(primary, v3), await login(replica, v3), await login(primary, v2), await login(replica, v2)]).toEqual([
      'WRONGPASS',
      'WRONGPASS',
      'ok',
      'ok',
    ]);
  });

  it('refuses to revoke when the credential to keep does not log in on every node', async () => {
    const r = new Redis(replica.port, '127.0.0.1');
    await realCall.call(r, 'ACL', 'SETUSER', 'app', `!${passwordHash(String(v2.password))}`);
    const err = await rotator.revoke(ctx, v1, v2).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect(err?.message).toContain(`does not log in on 127.0.0.1:${replica.port}`);
    await realCall.call(r, 'ACL', 'SETUSER', 'app', `#${passwordHash(String(v2.password))}`);
    r.disconnect();
  });

  it('sends passwords to Redis only in AUTH, never in an ACL command, and puts none in an error', async () => {
    const acl = sent.filter((c) => c[0] === 'ACL' && c[1] === 'SETUSER');
    expect(acl.length).toBeGreaterThanOrEqual(6);
    for (const c of acl) expect(c[3]).toMatch(/^[#!][0-9a-f]{64}$/);
    for (const pw of generated) expect(sent.filter((c) => c[0] !== 'AUTH' && c.some((a) => a.includes(pw)))).toEqual([]);
    const err = await rotator.verify(ctx, { ...v2, password: 'Wrong-Password-That-Must-Not-Leak' }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(JSON.stringify({ m: err?.message, s: err?.stack, c: String(err?.cause), own: Object.entries(err ?? {}) })).not.toContain(
      'Wrong-Password',
    );
  });

  it('says there is no drain check: Redis cannot tell which password a connection used', () => {
    expect(rotator.traits(ctx.params, ctx.secretId)).toMatchObject({ overlap: true, drain: false });
  });
});

describe('redis-acl setup problems and persistence', () => {
  it('names the node that lacks the user, and refuses a nopass user', async () => {
    const a = await node();
    const b = await node([], { appUser: false });
    const err = await rotator.preflight?.(ctxFor([a, b]), null).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect(err?.message).toContain(`127.0.0.1:${b.port} has no ACL user app`);
    const c = new Redis(b.port, '127.0.0.1');
    await c.call('ACL', 'SETUSER', 'app', 'on', 'nopass');
    c.disconnect();
    await expect(rotator.preflight?.(ctxFor([a, b]), null)).rejects.toThrow(/is nopass/);
  });

  it('saves the aclfile on every change, so a restarted node keeps the new password and not the old one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-aclfile-'));
    const file = join(dir, 'users.acl');
    writeFileSync(file, '');
    const s = await node(['--aclfile', file]);
    await (async () => {
      // Users made by node() live in memory only until the first save.
      const c = new Redis(s.port, '127.0.0.1');
      await c.call('ACL', 'SAVE');
      c.disconnect();
    })();
    const ctx = ctxFor([s]);
    const v1 = await rotator.generate(ctx, null);
    await rotator.apply(ctx, v1, null);
    const v2 = await rotator.generate(ctx, v1);
    await rotator.apply(ctx, v2, v1);
    expect(readFileSync(file, 'utf8')).toContain(`#${passwordHash(String(v2.password))}`);
    await rotator.revoke(ctx, v1, v2);
    const saved = readFileSync(file, 'utf8');
    expect(saved).not.toContain(passwordHash(String(v1.password)));
    expect(saved).not.toContain(String(v2.password));
    await s.restart();
    expect([await login(s, v1), await login(s, v2)]).toEqual(['WRONGPASS', 'ok']);
  });

  it('works where CONFIG is forbidden to its admin user, with and without an aclfile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-aclfile-'));
    const file = join(dir, 'users.acl');
    writeFileSync(file, '');
    const rules = ['+@all', '-config', '~*'];
    const withFile = await node(['--aclfile', file], { adminRules: rules });
    const without = await node([], { adminRules: rules });
    const ctx = ctxFor([withFile, without]);
    const v1 = await rotator.generate(ctx, null);
    await rotator.apply(ctx, v1, null);
    await rotator.verify(ctx, v1);
    expect(readFileSync(file, 'utf8')).toContain(passwordHash(String(v1.password)));
  });

  it('reports a node that is down as unavailable (retried), naming it', async () => {
    const a = await node();
    const b = await node();
    const ctx = ctxFor([a, b]);
    const v1 = await rotator.generate(ctx, null);
    await b.kill();
    const err = await rotator.apply(ctx, v1, null).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err?.message).toContain(`on 127.0.0.1:${b.port}`);
    expect(await login(a, v1)).toBe('ok'); // the first node was changed; the re-run finishes the rest
  });

  it('refuses an admin login the node does not accept, as a permanent problem', async () => {
    const a = await node();
    const ctx = { ...ctxFor([a]), resolveRef: async () => `redis://rotor-admin:not-the-password@127.0.0.1:1` };
    await expect(rotator.preflight?.(ctx, null)).rejects.toThrow(/refused rotor's admin login \(WRONGPASS\)/);
  });
});

describe('redis-acl: the password the user had before rotor', () => {
  it('stops working on primary and replica after the first rotation (revokeInherited at its revoke step)', async () => {
    const primary = await node(['--repl-diskless-sync-delay', '0']);
    const replica = await node(['--replicaof', '127.0.0.1', String(primary.port)]);
    await waitForReplica(replica);
    // Set by hand before rotor managed the user, on each node (ACLs are not replicated).
    const inherited = { username: 'app', password: `pre-rotor-${randomBytes(8).toString('hex')}` };
    for (const s of [primary, replica]) {
      const c = new Redis(s.port, '127.0.0.1');
      await realCall.call(c, 'ACL', 'SETUSER', 'app', `>${inherited.password}`);
      c.disconnect();
    }
    const ctx = ctxFor([primary, replica]);
    expect(rotator.traits(ctx.params, ctx.secretId).revokesInherited).toBe(true);
    await rotator.preflight?.(ctx, null);
    const first = await rotator.generate(ctx, null);
    await rotator.apply(ctx, first, null);
    await rotator.verify(ctx, first);
    // Through grace both work, as on every rotation.
    expect([await login(primary, inherited), await login(replica, inherited)]).toEqual(['ok', 'ok']);
    expect(await rotator.revokeInherited!(ctx, first)).toBe(2);
    expect([await login(primary, inherited), await login(replica, inherited)]).toEqual(['WRONGPASS', 'WRONGPASS']);
    expect([await login(primary, first), await login(replica, first)]).toEqual(['ok', 'ok']);
    expect(await passwordsOn(primary)).toEqual([passwordHash(String(first.password))]);
    expect(await passwordsOn(replica)).toEqual([passwordHash(String(first.password))]);
    // Idempotent: a worker that resumes the step changes nothing.
    expect(await rotator.revokeInherited!(ctx, first)).toBe(0);
    // Never removes what the store holds when rotor's own credential does not log in.
    await expect(rotator.revokeInherited!(ctx, { ...first, password: 'not-the-one-on-the-nodes' })).rejects.toThrow(PermanentError);
  });
});
