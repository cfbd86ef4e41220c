// The vault-kv store and vault: references against the fake Vault KV v2 server over real HTTP
// (test/helpers/vault-fake.ts): the store contract, check-and-set against a concurrent writer,
// logins and refusals, and full PostgreSQL rotations whose store is Vault: CURRENT and PREVIOUS
// through a rotation, a rollback that puts the old value back on top, and `rotor repair` of a
// version rotor wrote but never promoted.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repairSecret } from '../../../src/engine/repair.js';
import { requestRotation } from '../../../src/engine/request.js';
import { InvalidInputError, PermanentError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { resolveRef } from '../../../src/policy/refs.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { loadRotators, rotatorFor } from '../../../src/rotator/catalogue.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createVaultRefReader } from '../../../src/store/vault-kv/refs.js';
import { createVaultKvStore } from '../../../src/store/vault-kv/store.js';
import { login } from '../../helpers/login.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { rejectionOf } from '../../helpers/rejection.js';
import { storeContract } from '../../helpers/store-contract.js';
import { stubbornConsumer } from '../../helpers/stubborn-consumer.js';
import { FakeVault } from '../../helpers/vault-fake.js';
import { secretFixture, waitForRunEnd } from '../engine/fixtures.js';

const vault = new FakeVault();
const env = () => ({ VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken });
const vid = (tag: string) => `${randomUUID()}-${tag}`;

beforeAll(async () => void (await vault.start()));
afterAll(async () => vault.stop());

describe('the vault-kv store keeps the contract', () => {
  storeContract({
    name: 'vault-kv (fake)',
    store: () => createVaultKvStore({ env: env() }),
    location: async () => `secret/contract/${randomUUID()}`,
  });
});

describe('the vault-kv store on Vault', () => {
  it('writes every version with check-and-set; a writer between read and write is retried on top, never overwritten', async () => {
    const store = createVaultKvStore({ env: env() });
    const loc = `secret/cas/${randomUUID()}`;
    const path = loc.slice('secret/'.length);
    const base = vid('1');
    await store.putPending(loc, base, { username: 'app_a', password: 'pw-base' });
    await store.promote(loc, base);
    const next = vid('1');
    // Another client writes right after rotor read the metadata, before its write lands.
    vault.beforeNextWrite(() => vault.write('secret', path, { username: 'someone', password: 'pw-other' }));
    await store.putPending(loc, next, { username: 'app_b', password: 'pw-next' });
    const s = vault.secret('secret', path)!;
    // The other writer's version is kept, and rotor's landed on top of it.
    expect(s.versions[2]!.data).toEqual({ username: 'someone', password: 'pw-other' });
    expect(s.versions[3]!.data).toEqual({ username: 'app_b', password: 'pw-next' });
    const writes = vault.requests.filter((r) => r.method === 'POST' && r.path === `secret/data/${path}`);
    expect(writes.map((w) => [w.cas, w.status])).toEqual([
      [0, 200],
      [1, 400],
      [2, 200],
    ]);
    // Stages live in custom_metadata; the foreign version is no rotor version.
    expect(s.custom_metadata).toMatchObject({
      'rotor-current-version': base,
      'rotor-pending-version': next,
      'rotor-kv-1': base,
      'rotor-kv-3': next,
    });
    expect(s.custom_metadata['rotor-kv-2']).toBeUndefined();
    expect((await store.describe(loc)).map((v) => [v.versionId, v.stages])).toEqual([
      [next, ['PENDING']],
      [base, ['CURRENT']],
    ]);
    // Written but not promoted: never read as current.
    expect((await store.get(loc, 'CURRENT'))!.versionId).toBe(base);
  });

  it('logs in with AppRole, and again when its token has expired', async () => {
    vault.addAppRole('rotor-role', 'rotor-secret-id', undefined, 1);
    const store = createVaultKvStore({
      env: {
        VAULT_ADDR: vault.url,
        ROTOR_VAULT_AUTH: 'approle',
        ROTOR_VAULT_ROLE_ID: 'rotor-role',
        ROTOR_VAULT_SECRET_ID: 'rotor-secret-id',
      },
    });
    const loc = `secret/approle/${randomUUID()}`;
    const v = vid('1');
    await store.putPending(loc, v, { password: 'pw-approle' });
    await new Promise((r) => setTimeout(r, 1_100));
    await store.promote(loc, v);
    expect(vault.requests.filter((r) => r.path === 'auth/approle/login' && r.status === 200).length).toBeGreaterThanOrEqual(2);
    expect((await store.get(loc, 'CURRENT'))!.value).toEqual({ password: 'pw-approle' });

    const wrong = createVaultKvStore({
      env: { VAULT_ADDR: vault.url, ROTOR_VAULT_AUTH: 'approle', ROTOR_VAULT_ROLE_ID: 'rotor-role', ROTOR_VAULT_SECRET_ID: 'nope' },
    });
    const err = await rejectionOf(wrong.get(loc, 'CURRENT'), PermanentError);
    expect(err.message).toContain("Vault refused rotor's approle login at auth/approle (HTTP 400): invalid role or secret ID");
    expect(err.message).not.toContain('nope');
  });

  it('logs in with rotor’s Kubernetes service-account token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-vault-k8s-'));
    writeFileSync(join(dir, 'token'), 'sa-jwt-of-rotor\n');
    vault.addKubernetesRole('rotor', 'sa-jwt-of-rotor');
    const k8sEnv = {
      VAULT_ADDR: vault.url,
      ROTOR_VAULT_AUTH: 'kubernetes',
      ROTOR_VAULT_K8S_ROLE: 'rotor',
      ROTOR_VAULT_K8S_TOKEN_FILE: join(dir, 'token'),
    };
    const store = createVaultKvStore({ env: k8sEnv });
    const loc = `secret/k8s/${randomUUID()}`;
    await store.putPending(loc, vid('1'), { password: 'pw-k8s' });
    expect(vault.requests.some((r) => r.path === 'auth/kubernetes/login' && r.status === 200)).toBe(true);
    const wrongRole = createVaultKvStore({ env: { ...k8sEnv, ROTOR_VAULT_K8S_ROLE: 'other' } });
    expect((await rejectionOf(wrongRole.describe(loc), PermanentError)).message).toContain('invalid role name');
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the path and the capability to grant when Vault answers permission denied', async () => {
    const readOnly = vault.token([{ prefix: 'secret/', capabilities: ['read'] }]);
    const store = createVaultKvStore({ env: { VAULT_ADDR: vault.url, VAULT_TOKEN: readOnly } });
    const path = `denied/${randomUUID()}`;
    const err = await rejectionOf(store.putPending(`secret/${path}`, vid('1'), { password: 'pw-denied' }), PermanentError);
    expect(err.message).toContain(`Vault denied POST secret/data/${path}: `);
    expect(err.message).toContain('permission denied');
    expect(err.hint).toContain(`path "secret/data/${path}" { capabilities = ["create", "update"] }`);
    const unset = await rejectionOf(createVaultKvStore({ env: {} }).describe('secret/x'), InvalidInputError);
    expect(unset.message).toContain('VAULT_ADDR');
  });

  it('resolves vault: references to a field of rotor’s CURRENT version, naming what is missing', async () => {
    const read = createVaultRefReader({ env: env() });
    vault.write('secret', 'rotor/admin', { url: 'postgres://admin:pw-admin@db/app', user: 'admin' });
    const opts = { baseDir: '.', env: {}, readFile: async () => '', vault: read };
    expect(await resolveRef('vault:secret/rotor/admin#url', opts)).toBe('postgres://admin:pw-admin@db/app');
    const missing = await rejectionOf(resolveRef('vault:secret/rotor/admin#password', opts), PermanentError);
    expect(missing.message).toContain('has no string or number field password (its fields: url, user)');
    await rejectionOf(resolveRef('vault:secret/rotor/admin#url', { ...opts, vault: undefined }), InvalidInputError);
    // A secret rotor manages, with a version staged but not promoted: the reference reads CURRENT.
    const store = createVaultKvStore({ env: env() });
    const [a, b] = [vid('1'), vid('1')];
    await store.putPending('secret/rotor/signing', a, { key: 'pw-current' });
    await store.promote('secret/rotor/signing', a);
    await store.putPending('secret/rotor/signing', b, { key: 'pw-staged' });
    expect(await resolveRef('vault:secret/rotor/signing#key', opts)).toBe('pw-current');
  });
});

describe('PostgreSQL rotations whose store is Vault KV', () => {
  let db: TestDatabase;
  let kit: QueueKit;
  let runtime: Runtime;
  let store: SecretStore;

  beforeAll(async () => {
    db = await createTestDatabase('vault_kv');
    await migrate(db.pool);
    await db.pool.query(
      'create role vk_app nologin; create role vk_a login in role vk_app; create role vk_b login in role vk_app; create role vk_c login in role vk_app; create role vk_d login in role vk_app',
    );
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
    await loadRotators(['postgres']);
    store = createVaultKvStore({ env: env() });
    runtime = await startRuntime({
      pool: db.pool,
      kit,
      log: silentLogger,
      stores: { 'vault-kv': store },
      resolveRef: async () => db.url,
      nextDue: (_s, l) => new Date(l.getTime() + 86_400_000),
      pollMs: 50,
      consumers: { stubborn: stubbornConsumer },
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await kit?.close();
    await db?.drop();
  });

  const secretFor = (id: string, users: [string, string]) =>
    secretFixture(id, {
      graceMs: 50,
      store: { backend: 'vault-kv', location: `secret/${id}`, params: { mount: 'secret', path: id } },
      rotator: {
        name: 'postgres',
        params: {
          strategy: 'alternating-users',
          target: { host: db.host, port: db.port, database: db.name, users, group: 'vk_app', admin: 'env:X', sslmode: 'disable' },
        },
      },
    });
  const sync = (s: ReturnType<typeof secretFor>) =>
    syncSecrets(db.pool, [s], { actor: 'test', targetKeyOf: (x) => x.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
  const rotate = async (id: string) =>
    waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: id, trigger: 'manual', actor: 'test' })).id);

  it('holds CURRENT and PREVIOUS through rotations; what applications read (the newest version) is CURRENT, and logs in', async () => {
    const secret = secretFor('app/db', ['vk_a', 'vk_b']);
    await sync(secret);
    expect((await rotate(secret.id)).state).toBe('done');
    const first = (await store.get(secret.store.location, 'CURRENT'))!;
    expect((await rotate(secret.id)).state).toBe('done');
    const current = (await store.get(secret.store.location, 'CURRENT'))!;
    const previous = (await store.get(secret.store.location, 'PREVIOUS'))!;
    expect(previous.versionId).toBe(first.versionId);
    expect(current.value.username).not.toBe(previous.value.username);
    expect(vault.latest('secret', 'app/db')).toEqual(current.value);
    expect(await login(db, current.value.username, current.value.password)).toBe(true);
    expect(await login(db, previous.value.username, previous.value.password)).toBe('28P01');
    // Every data write carried cas.
    const writes = vault.requests.filter((r) => r.method === 'POST' && r.path === 'secret/data/app/db');
    expect(writes.length).toBeGreaterThanOrEqual(2);
    expect(writes.every((w) => typeof w.cas === 'number')).toBe(true);
  });

  it('a rollback writes the old value back on top, so applications read a credential that works', async () => {
    const secret = secretFor('app/rollback', ['vk_c', 'vk_d']);
    await sync(secret);
    expect((await rotate(secret.id)).state).toBe('done');
    const old = (await store.get(secret.store.location, 'CURRENT'))!;
    await sync({
      ...secret,
      hash: 'stubborn',
      consumers: [{ name: 'batch', type: 'stubborn', wave: 1, cacheTtlMs: undefined, confirmTimeoutMs: 300, params: {} }],
    });
    const ended = await rotate(secret.id);
    expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'rolled-back' });
    expect((await store.get(secret.store.location, 'CURRENT'))!.versionId).toBe(old.versionId);
    expect(vault.latest('secret', 'app/rollback')).toEqual(old.value);
    expect(await login(db, old.value.username, old.value.password)).toBe(true);
  });

  it('rotor repair clears a version rotor wrote but never promoted; the newest is CURRENT again and the next rotation runs', async () => {
    const secret = secretFor('app/repair', ['vk_a', 'vk_b']);
    await sync(secret);
    expect((await rotate(secret.id)).state).toBe('done');
    const current = (await store.get(secret.store.location, 'CURRENT'))!;
    const rotator = rotatorFor('postgres');
    const ctx = {
      secretId: secret.id,
      runId: 'lost',
      params: rotator.paramsSchema.parse(secret.rotator.params),
      resolveRef: async () => db.url,
      log: silentLogger,
      signal: new AbortController().signal,
    };
    const dangling = await rotator.generate(ctx, current.value);
    await store.putPending(secret.store.location, 'lost-run-1', dangling);
    await rotator.apply(ctx, dangling, current.value);
    expect(vault.latest('secret', 'app/repair')).toEqual(dangling);
    expect((await rotate(secret.id)).error).toContain('rotor repair');

    const deps = { pool: db.pool, store: () => store, rotator: rotatorFor, resolveRef: async () => db.url };
    expect(await repairSecret(deps, secret.id, 'cli:alice')).toEqual({ repaired: true, clearedVersion: 'lost-run-1', stage: 'PENDING' });
    expect(await store.get(secret.store.location, 'PENDING')).toBeNull();
    expect(vault.latest('secret', 'app/repair')).toEqual(current.value);
    expect(await login(db, dangling.username, dangling.password)).toBe('28P01');
    expect(await login(db, current.value.username, current.value.password)).toBe(true);
    expect((await rotate(secret.id)).state).toBe('done');
  });
});
