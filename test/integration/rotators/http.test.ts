// The http rotator against the fake SaaS (test/helpers/fake-saas.ts: a key limit, bearer auth, a
// deleted key refused at once): the conformance suite, full engine runs from the example policies
// alone (only the API's address and the timings changed), and what it does with answers it must
// not trust (redirects, failures, bodies holding keys). One fake per example, one database.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import httpRotator from '../../../rotators/http/index.js';
import { requestRotation } from '../../../src/engine/request.js';
import { PermanentError, UnavailableError } from '../../../src/errors.js';
import { createLogger, silentLogger } from '../../../src/log.js';
import type { ResolvedSecret } from '../../../src/policy/types.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import type { ConformanceHarness } from '../../../src/rotator/conformance.js';
import { describeConformance } from '../../../src/rotator/conformance-vitest.js';
import { loadRotators, targetKeyOf } from '../../../src/rotator/catalogue.js';
import type { RotatorContext } from '../../../src/rotator/contract.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { migrate } from '../../../src/state/migrate.js';
import { listRuns } from '../../../src/state/runs.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { startFakeSaas, type FakeSaas } from '../../helpers/fake-saas.js';
import { httpExampleRefs, httpExampleSecret, type HttpExample } from '../../helpers/http-examples.js';
import { findLeaksInDatabase, findLeaksInRedis } from '../../helpers/leak-scan.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { privateRedis, uniquePrefix } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { waitForRunEnd } from '../engine/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'rotor-http-'));
vi.stubEnv('ROTOR_ENV_FILE_ROOT', dir);
const fakes: FakeSaas[] = [];
afterAll(async () => {
  vi.unstubAllEnvs();
  for (const f of fakes) await f.close();
  rmSync(dir, { recursive: true, force: true });
});

async function fake(keyLimit = 2): Promise<FakeSaas> {
  const f = await startFakeSaas({ keyLimit });
  fakes.push(f);
  return f;
}

const exampleSecret = (example: HttpExample, saas: FakeSaas, grace?: string) => httpExampleSecret(example, saas, dir, grace);
const refs = httpExampleRefs;

async function streamSession(saas: FakeSaas, key: string): Promise<{ close(): Promise<void> }> {
  const stop = new AbortController();
  const res = await fetch(`${saas.url}/v1/stream`, { headers: { authorization: `Bearer ${key}` }, signal: stop.signal });
  if (res.status !== 200) throw new Error(`opening a session failed with HTTP ${res.status}`);
  return {
    close: async () => {
      stop.abort();
      await res.body?.cancel().catch(() => undefined);
    },
  };
}

describeConformance('http (list + inUse example, fake SaaS)', httpRotator, async (): Promise<ConformanceHarness> => {
  // Three slots: the suite's first-rotation check starts while its earlier credential is still live,
  // beside the key made by hand (a real first rotation finds only the latter).
  const saas = await fake(3);
  const secret = await exampleSecret('http-list-in-use.yaml', saas);
  return {
    params: secret.rotator.params,
    resolveRef: refs(saas),
    openSession: (v) => streamSession(saas, String(v.apiKey)),
    // A key an operator made by hand before rotor: `list` shows it, revokeInherited removes it.
    inherited: async () => {
      const k = saas.seed();
      return { id: k.id, apiKey: k.secret };
    },
  };
});

// This policy has no inUse request (traits.drain is false, so the engine never asks): checked without it.
const { inUse: _unused, ...withoutInUse } = httpRotator;
describeConformance('http (rolling keys example, fake SaaS)', withoutInUse, async (): Promise<ConformanceHarness> => {
  // Three slots: the suite keeps the initial key alive across its checks, where a run revokes it first.
  const saas = await fake(3);
  const initial = saas.seed('initial');
  const secret = await exampleSecret('http-rolling-keys.yaml', saas);
  return {
    params: secret.rotator.params,
    resolveRef: refs(saas, initial),
    inherited: async () => ({ id: initial.id, secret: initial.secret }),
  };
});

describe('http rotator runs through the engine, from the example policies', () => {
  let db: TestDatabase;
  let kit: QueueKit;
  let runtime: Runtime;
  let store: SecretStore;
  const logs: string[] = [];
  const prefix = uniquePrefix('http');
  const resolvers = new Map<string, (ref: string) => Promise<string>>();

  beforeAll(async () => {
    db = await createTestDatabase('http_rotator');
    await migrate(db.pool);
    kit = await createQueueKit({ kind: 'redis', url: privateRedis().url, prefix }, silentLogger);
    await loadRotators(['http']);
    store = createLocalStore({ pool: db.pool, key: randomBytes(32) });
    runtime = await startRuntime({
      pool: db.pool,
      kit,
      log: createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(line) } }),
      stores: { local: store },
      resolveRef: (ref, secret) => resolvers.get(secret.id)!(ref),
      nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
      pollMs: 50,
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await kit?.close();
    await db?.drop();
  });

  const sync = (s: ResolvedSecret) =>
    syncSecrets(db.pool, [s], { actor: 'test', targetKeyOf, nextDueOf: () => new Date(Date.now() + 86_400_000) });
  const start = async (id: string) => (await requestRotation(db.pool, kit, { secretId: id, trigger: 'manual', actor: 'test' })).id;
  const inGrace = (runId: string) =>
    waitFor(
      async () =>
        (await db.pool.query("select 1 from runs where id = $1 and step in ('grace', 'verify-consumers')", [runId])).rowCount === 1,
      {
        timeoutMs: 20_000,
      },
    );
  const secretOf = async (id: string, field: string) => String((await store.get(id, 'CURRENT'))!.value[field]);

  /** One rotation, checked on the provider: both keys work during grace, the old one is refused after. */
  async function rotateChecked(saas: FakeSaas, secret: ResolvedSecret, field: string, old: string): Promise<string> {
    const runId = await start(secret.id);
    await inGrace(runId);
    const next = await secretOf(secret.id, field);
    expect(next).not.toBe(old);
    expect(await saas.statusFor(old)).toBe(200);
    expect(await saas.statusFor(next)).toBe(200);
    expect(await waitForRunEnd(db.pool, runId, 20_000)).toMatchObject({ state: 'done', outcome: 'rotated' });
    expect(await saas.statusFor(old)).toBe(401);
    expect(await saas.statusFor(next)).toBe(200);
    expect(saas.keys().map((k) => k.secret)).toEqual([next]);
    return next;
  }

  it('rolling keys: the key in use before rotor makes the first key, and each rotation deletes the old one', async () => {
    const saas = await fake();
    const initial = saas.seed('initial');
    const secret = await exampleSecret('http-rolling-keys.yaml', saas);
    resolvers.set(secret.id, refs(saas, initial));
    await sync(secret);
    let current = await rotateChecked(saas, secret, 'secret', initial.secret);
    current = await rotateChecked(saas, secret, 'secret', current);
    // The consumer's env file carries the key (it is meant to); the store's value is what it wrote.
    expect(readFileSync(join(dir, 'checkout.env'), 'utf8')).toContain(`PAYPROV_SECRET='${current}'`);
  });

  it('token API: create/delete with the admin token, through a provider failing now and then', async () => {
    const saas = await fake();
    const secret = await exampleSecret('http-token-api.yaml', saas);
    resolvers.set(secret.id, refs(saas));
    await sync(secret);
    const first = await start(secret.id);
    expect((await waitForRunEnd(db.pool, first, 20_000)).state).toBe('done');
    const current = await secretOf(secret.id, 'token');
    // Two 503s: the engine's retries with backoff carry the run through.
    saas.failNext(2);
    await rotateChecked(saas, secret, 'token', current);
    expect(saas.log.filter((l) => l.status === 503)).toHaveLength(2);
  });

  it('list + inUse: a key made by hand is deleted at the first rotation; revoke waits for the old key to drain', async () => {
    const saas = await fake();
    const byHand = saas.seed();
    const secret = await exampleSecret('http-list-in-use.yaml', saas, '200ms');
    resolvers.set(secret.id, refs(saas));
    await sync(secret);
    const first = await start(secret.id);
    expect(await waitForRunEnd(db.pool, first, 20_000)).toMatchObject({ state: 'done' });
    expect(await saas.statusFor(byHand.secret)).toBe(401);
    const old = await secretOf(secret.id, 'apiKey');

    const session = await streamSession(saas, old);
    const runId = await start(secret.id);
    // Grace is over, the consumer confirmed, but a session still holds the old key: the run waits.
    await waitFor(
      async () => (await db.pool.query('select old_sessions_seen from runs where id = $1', [runId])).rows[0]?.old_sessions_seen >= 1,
      {
        timeoutMs: 20_000,
      },
    );
    await new Promise((r) => setTimeout(r, 300));
    expect((await listRuns(db.pool, secret.id)).find((r) => r.id === runId)?.state).not.toBe('done');
    expect(await saas.statusFor(old)).toBe(200);
    await session.close();
    expect(await waitForRunEnd(db.pool, runId, 20_000)).toMatchObject({ state: 'done', outcome: 'rotated' });
    expect(await saas.statusFor(old)).toBe(401);
    expect(saas.keys()).toHaveLength(1);
  });

  it('a first rotation whose new key never works deletes it at the provider: with an admin token, and with the key from before rotor', async () => {
    const tokens = await fake();
    const admin = await exampleSecret('http-token-api.yaml', tokens);
    resolvers.set(admin.id, refs(tokens));
    const rolling = await fake();
    const initial = rolling.seed('initial');
    const own = await exampleSecret('http-rolling-keys.yaml', rolling);
    resolvers.set(own.id, refs(rolling, initial));
    for (const [secret, saas, left] of [
      [admin, tokens, []],
      [own, rolling, [initial.id]],
    ] as const) {
      // The provider holds every new key for review: verify-new is refused until the run discards.
      saas.holdNewKeys(true);
      await sync({
        ...secret,
        id: `${secret.id}-held`,
        hash: `${secret.hash}-held`,
        store: { ...secret.store, location: `${secret.id}-held` },
      });
      resolvers.set(`${secret.id}-held`, resolvers.get(secret.id)!);
      const ended = await waitForRunEnd(db.pool, await start(`${secret.id}-held`), 20_000);
      expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
      expect(ended.error).toContain('verify-new failed after 4 attempts');
      // The provider holds no key rotor made: the one this run created was deleted.
      expect(saas.keys().map((k) => k.id)).toEqual(left);
      expect(saas.log.filter((l) => l.method === 'DELETE').map((l) => l.status)).toEqual([204]);
      expect(await store.get(`${secret.id}-held`, 'PENDING')).toBeNull();
    }
    expect(await rolling.statusFor(initial.secret)).toBe(200);
  });

  it('no key the provider issued appears in the state tables, Redis or the logs', async () => {
    const issued = fakes.flatMap((f) => f.issued());
    expect(issued.length).toBeGreaterThan(5);
    expect(await findLeaksInDatabase(db.pool, issued)).toEqual([]);
    expect(await findLeaksInRedis(privateRedis().url, issued)).toEqual([]);
    const text = logs.join('');
    expect(text).toContain('"step"');
    expect(issued.filter((k) => text.includes(k))).toEqual([]);
  });
});

describe('http rotator requests', () => {
  let saas: FakeSaas;
  let ctx: RotatorContext<ReturnType<typeof httpRotator.paramsSchema.parse>>;

  beforeAll(async () => {
    saas = await fake();
    const secret = await exampleSecret('http-token-api.yaml', saas);
    ctx = {
      secretId: secret.id,
      runId: 'run-requests',
      params: httpRotator.paramsSchema.parse(secret.rotator.params),
      resolveRef: refs(saas),
      log: silentLogger,
      signal: new AbortController().signal,
    };
  });

  const withVerify = (path: string) => ({
    ...ctx,
    params: {
      ...ctx.params,
      target: {
        ...ctx.params.target,
        requests: { ...ctx.params.target.requests, verify: { ...ctx.params.target.requests.verify, url: `${saas.url}${path}` } },
      },
    },
  });

  it('does not follow a redirect: the key is not sent on, and the error says to write the final URL', async () => {
    const v = await httpRotator.generate(ctx, null);
    const before = saas.log.length;
    const err = await httpRotator.verify(withVerify('/v1/moved'), v).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toBe(`http rotator: verify GET ${saas.url}/v1/moved answered HTTP 302 (expected 200): a redirect`);
    expect(saas.log.slice(before).map((l) => l.path)).toEqual(['/v1/moved']);
  });

  it('a refusal names step, method, URL and status, never the body or the key', async () => {
    saas.seed();
    const err = (await httpRotator.generate(ctx, null).catch((e: unknown) => e)) as PermanentError;
    // Two keys exist (the one above and this seed): the limit answers 400.
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toBe(`http rotator: create POST ${saas.url}/v1/keys answered HTTP 400 (expected 200, 201)`);
    for (const k of saas.issued()) expect(`${err.message} ${err.hint}`).not.toContain(k);
  });

  it('a provider failing (503) is retryable; a wrong key at verify is an error, retried by the engine', async () => {
    saas.failNext(1);
    const v = { id: 'key_nope', token: `sk_${randomBytes(12).toString('hex')}` };
    expect(await httpRotator.verify(ctx, v).catch((e: unknown) => e)).toBeInstanceOf(UnavailableError);
    const refused = (await httpRotator.verify(ctx, v).catch((e: unknown) => e)) as Error;
    expect(refused).not.toBeInstanceOf(PermanentError);
    expect(refused.message).toBe(`http rotator: verify GET ${saas.url}/v1/me answered HTTP 401 (expected 200)`);
  });
});
