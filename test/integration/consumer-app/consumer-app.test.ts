// The demo consumer app against a real PostgreSQL (scram-sha-256) and the real local store: it
// reloads on a correctly signed webhook only, reports the version it uses, and never answers with
// the credential itself.
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumerApp, type ConsumerApp } from '../../../examples/consumer-app/app.js';
import { setPassword } from '../../../rotators/postgres/role-sql.js';
import { signRequest, SIGNATURE_HEADER, TIMESTAMP_HEADER, type WebhookBody } from '../../../src/consumers/signing.js';
import { trackSecret } from '../../../src/redact.js';
import { migrate } from '../../../src/state/migrate.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { waitFor } from '../../helpers/wait.js';

const SECRET = 'demo/consumer-app-test';
const KEY = randomBytes(32).toString('base64url');

describe('the demo consumer app', () => {
  let db: TestDatabase;
  let store: SecretStore;
  let app: ConsumerApp;
  const p = `ca_${randomBytes(3).toString('hex')}`;
  const users = [`${p}_a`, `${p}_b`] as const;
  const passwords: string[] = [];
  const responses: string[] = [];
  const logLines: string[] = [];
  let turn = 0;

  /** Stages and promotes a new version on the other user, as an alternating-users rotation does. */
  async function rotate(): Promise<string> {
    const user = users[turn++ % 2]!;
    const password = randomBytes(18).toString('base64url');
    trackSecret(password);
    passwords.push(password);
    await setPassword(db.pool, user, password);
    const versionId = `v${turn}-${randomBytes(3).toString('hex')}`;
    await store.putPending(SECRET, versionId, {
      engine: 'postgres',
      host: db.host,
      port: db.port,
      dbname: db.name,
      username: user,
      password,
    });
    await store.promote(SECRET, versionId);
    return versionId;
  }

  function webhookBody(versionId: string, over: Partial<WebhookBody> = {}): string {
    const body: WebhookBody = {
      event: 'version.current',
      delivery: randomBytes(8).toString('hex'),
      secretId: SECRET,
      runId: 'run-1',
      versionId,
      store: { backend: 'local', location: SECRET },
      revokeAfter: new Date(Date.now() + 60_000).toISOString(),
      ...over,
    };
    return JSON.stringify(body);
  }

  async function call(path: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) {
    const res = await fetch(app.url + path, {
      method: init.method ?? 'GET',
      body: init.body,
      headers: { 'content-type': 'application/json', ...init.headers },
    });
    const text = await res.text();
    responses.push(text);
    return { status: res.status, json: JSON.parse(text) as Record<string, unknown> };
  }

  const post = (body: string, headers: Record<string, string>) => call('/rotor/reload', { method: 'POST', body, headers });
  const signPost = (body: string, key = KEY, at = new Date()) =>
    signRequest(key, { method: 'POST', url: '/rotor/reload', delivery: (JSON.parse(body) as WebhookBody).delivery, body }, at);
  const signedPost = (body: string, key = KEY, at = new Date()) => post(body, signPost(body, key, at));
  const signGet = (path: string) => signRequest(KEY, { method: 'GET', url: path, delivery: randomUUID(), body: '' });
  const signedVersion = (secret = SECRET) => {
    const path = `/rotor/version?secret=${encodeURIComponent(secret)}`;
    return call(path, { headers: signGet(path) });
  };
  const sessionsOf = async (user: string) =>
    (await db.pool.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where usename = $1', [user])).rows[0]!.n;

  beforeAll(async () => {
    db = await createTestDatabase('consumer_app');
    await migrate(db.pool);
    await db.pool.query(`create role ${p} nologin; create role ${users[0]} login in role ${p}; create role ${users[1]} login in role ${p}`);
    store = createLocalStore({ pool: db.pool, key: randomBytes(32) });
    await rotate();
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (logLines.push(chunk.toString()), done()) });
    app = await createConsumerApp({ secretId: SECRET, store, webhookKey: KEY, log: pino({ level: 'debug' }, sink), pool: { max: 2 } });
  });

  afterAll(async () => {
    await app?.close();
    await db?.pool
      .query(`drop role if exists ${users[0]}; drop role if exists ${users[1]}; drop role if exists ${p}`)
      .catch(() => undefined);
    await db?.drop();
  });

  it('starts on CURRENT and answers /healthz with select 1 through its pool', async () => {
    const first = (await store.get(SECRET, 'CURRENT'))!.versionId;
    expect(app.version()).toBe(first);
    expect(await call('/healthz')).toEqual({ status: 200, json: { status: 'ok', version: first } });
  });

  it('a valid signed webhook reloads: the new version is in use, the old pool drains', async () => {
    const before = app.version();
    const next = await rotate();
    const res = await signedPost(webhookBody(next));
    expect(res).toEqual({ status: 200, json: { version: next } });
    expect(app.version()).toBe(next);
    expect(app.version()).not.toBe(before);
    expect(await call('/healthz')).toEqual({ status: 200, json: { status: 'ok', version: next } });
    // The app now logs in as the other user; the old user's sessions are gone once the pool drained.
    expect(await sessionsOf(users[1])).toBeGreaterThan(0);
    await waitFor(async () => (await sessionsOf(users[0])) === 0, { message: 'the old pool to drain' });
  });

  it('the signed version endpoint reports the version in use, after a reload too', async () => {
    expect(await signedVersion()).toEqual({ status: 200, json: { version: app.version() } });
    const next = await rotate();
    expect((await signedPost(webhookBody(next))).status).toBe(200);
    expect(await signedVersion()).toEqual({ status: 200, json: { version: next } });
  });

  it('refuses an unsigned version request and one about another secret', async () => {
    const unsigned = await call(`/rotor/version?secret=${encodeURIComponent(SECRET)}`);
    expect(unsigned.status).toBe(401);
    expect(unsigned.json.error).toMatch(/missing rotor-timestamp, rotor-delivery or rotor-signature-v2 header/);
    expect((await signedVersion('other/secret')).status).toBe(404);
  });

  it('refuses a tampered body with 401 and does not reload', async () => {
    const using = app.version();
    const next = await rotate();
    const body = webhookBody(next);
    const headers = signPost(body);
    const res = await post(body.replace('"run-1"', '"run-2"'), headers);
    expect(res.status).toBe(401);
    expect(res.json.error).toBe('unauthorized: signature does not match the request (method, path, query, delivery, body)');
    expect(app.version()).toBe(using);
    // The genuine request still works (and leaves the app on CURRENT for the next tests).
    expect((await post(body, headers)).json).toEqual({ version: next });
  });

  it('refuses a verify GET whose signature was made for another query or path, a replayed GET, and v1 alone', async () => {
    const mine = `/rotor/version?secret=${encodeURIComponent(SECRET)}`;
    const headers = signGet('/rotor/version?secret=other%2Fsecret');
    const moved = await call(mine, { headers });
    expect(moved.status).toBe(401);
    expect(moved.json.error).toBe('unauthorized: signature does not match the request (method, path, query, delivery, body)');
    const once = signGet(mine);
    expect((await call(mine, { headers: once })).status).toBe(200);
    const replay = await call(mine, { headers: once });
    expect(replay.status).toBe(401);
    expect(replay.json.error).toMatch(/was already accepted \(a replayed request\)$/);
    // A receiver on v2 does not take the old body-only signature.
    const v1Only = { [TIMESTAMP_HEADER]: once[TIMESTAMP_HEADER]!, [SIGNATURE_HEADER]: once[SIGNATURE_HEADER]! };
    expect((await call(mine, { headers: v1Only })).status).toBe(401);
  });

  it('refuses a replayed delivery with 401', async () => {
    const next = await rotate();
    const body = webhookBody(next);
    const headers = signPost(body);
    expect(await post(body, headers)).toEqual({ status: 200, json: { version: next } });
    const replay = await post(body, headers);
    expect(replay.status).toBe(401);
    expect(replay.json.error).toMatch(/^unauthorized: delivery [0-9a-f]+ was already accepted \(a replayed request\)$/);
  });

  it('refuses a timestamp older than the tolerance with 401 and does not reload', async () => {
    const using = app.version();
    const next = await rotate();
    const res = await signedPost(webhookBody(next), KEY, new Date(Date.now() - 10 * 60_000));
    expect(res.status).toBe(401);
    expect(res.json.error).toMatch(/^unauthorized: timestamp is 6\d\ds away from now \(tolerance 300s\)$/);
    expect(app.version()).toBe(using);
    expect((await signedPost(webhookBody(next))).json).toEqual({ version: next });
  });

  it('refuses a request signed with another key with 401', async () => {
    const using = app.version();
    const next = await rotate();
    const res = await signedPost(webhookBody(next), randomBytes(32).toString('base64url'));
    expect(res.status).toBe(401);
    expect(res.json.error).toBe('unauthorized: signature does not match the request (method, path, query, delivery, body)');
    expect(app.version()).toBe(using);
    expect((await signedPost(webhookBody(next))).json).toEqual({ version: next });
  });

  it('keeps the old credential when PostgreSQL refuses the new one, and does not confirm', async () => {
    const using = app.version();
    const next = await rotate();
    // Break the password the new version holds: the app must not switch to a pool that cannot log in.
    await setPassword(db.pool, (await store.get(SECRET, 'CURRENT'))!.value.username as string, randomBytes(18).toString('base64url'));
    const res = await signedPost(webhookBody(next));
    expect(res.status).toBe(503);
    expect(res.json.error).toMatch(/^reload failed: PostgreSQL refused version .* \(SQLSTATE 28P01\)$/);
    expect(res.json.version).toBe(using);
    expect(app.version()).toBe(using);
    expect((await call('/healthz')).json).toEqual({ status: 'ok', version: using });
  });

  it('never answers or logs a credential value', () => {
    expect(passwords.length).toBeGreaterThan(5);
    expect(responses.length).toBeGreaterThan(15);
    expect(logLines.join('')).toContain('credential reloaded');
    for (const text of [...responses, ...logLines]) for (const pw of passwords) expect(text).not.toContain(pw);
  });
});
