// Full runs with the real ldap rotator against a private slapd, both modes, checked the way an
// application would: by binding with a real client (ldapts). Then invariant 4 over everything the
// runs touched: no generated password in Redis, the state tables, rotor's logs or slapd's log.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestRotation } from '../../../src/engine/request.js';
import { createLogger, silentLogger } from '../../../src/log.js';
import type { ResolvedSecret } from '../../../src/policy/types.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { loadRotators, rotatorFor } from '../../../src/rotator/catalogue.js';
import type { Rotator, SecretValue } from '../../../src/rotator/contract.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { findLeaksInDatabase, redisKeysWithContent } from '../../helpers/leak-scan.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { privateRedis, uniquePrefix } from '../../helpers/redis.js';
import { startSlapd, type SlapdHandle } from '../../helpers/slapd-server.js';
import { waitFor } from '../../helpers/wait.js';
import { secretFixture, waitForRunEnd } from './fixtures.js';

let slapd: SlapdHandle;
let db: TestDatabase;
let kit: QueueKit;
let runtime: Runtime;
let store: SecretStore;
const prefix = uniquePrefix('ldaprot');
const logs: string[] = [];
const generated: SecretValue[] = [];

beforeAll(async () => {
  [slapd, db] = await Promise.all([startSlapd(), createTestDatabase('ldap_rotation')]);
  await migrate(db.pool);
  kit = await createQueueKit({ kind: 'redis', url: privateRedis().url, prefix }, silentLogger);
  await loadRotators(['ldap']);
  const real = rotatorFor('ldap');
  const recording: Rotator<unknown> = {
    ...real,
    async generate(ctx, current) {
      const v = await real.generate(ctx, current);
      generated.push(v);
      return v;
    },
  };
  store = createLocalStore({ pool: db.pool, key: randomBytes(32) });
  runtime = await startRuntime({
    pool: db.pool,
    kit,
    log: createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(line) } }),
    stores: { local: store },
    rotators: { ldap: recording },
    resolveRef: async (ref) => (ref === 'env:LDAP_CA' ? slapd.ca : slapd.admin.password),
    nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
    pollMs: 50,
  });
});

afterAll(async () => {
  await runtime?.close();
  await kit?.close();
  await db?.drop();
  await slapd?.stop();
});

const admin = { dn: 'cn=rotor,ou=system,dc=rotor,dc=test', password: 'env:LDAP_ADMIN' };
const sync = (s: ResolvedSecret) =>
  syncSecrets(db.pool, [s], { actor: 'test', targetKeyOf: (x) => x.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
const rotate = async (id: string) =>
  waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: id, trigger: 'manual', actor: 'test' })).id, 30_000);
const bind = (v: SecretValue) => slapd.bind(String(v.username), String(v.password));

describe('ldap rotations through the engine', () => {
  it('alternating accounts (LDAPS): both accounts bind during grace; after revoke the old one gets 49 and the new binds', async () => {
    const accounts = [await slapd.addAccount('app-a', randomBytes(12).toString('hex')), await slapd.addAccount('app-b', 'x')];
    const group = await slapd.addGroup('app', accounts);
    const secret = secretFixture('ldap/alternating', {
      graceMs: 1_500,
      rotator: {
        name: 'ldap',
        params: { strategy: 'alternating-accounts', target: { url: slapd.ldapsUrl, ca: 'env:LDAP_CA', admin, accounts, group } },
      },
    });
    await sync(secret);
    expect((await rotate(secret.id)).state).toBe('done');
    const old = (await store.get(secret.id, 'CURRENT'))!.value;
    expect(old.username).toBe(accounts[0]);
    const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    await waitFor(
      async () =>
        (await db.pool.query("select 1 from runs where id = $1 and step in ('grace', 'verify-consumers')", [run.id])).rowCount === 1,
      { timeoutMs: 20_000 },
    );
    const next = (await store.get(secret.id, 'CURRENT'))!.value;
    expect(next.username).toBe(accounts[1]);
    expect(await bind(old)).toBe(true);
    expect(await bind(next)).toBe(true);
    expect((await waitForRunEnd(db.pool, run.id, 30_000)).state).toBe('done');
    expect(await bind(old)).toBe(49);
    expect(await bind(next)).toBe(true);
  });

  it('single user (StartTLS): the password changes in place; the old one gets 49 and the new binds', async () => {
    const user = await slapd.addAccount('app-single', randomBytes(12).toString('hex'));
    const secret = secretFixture('ldap/single', {
      graceMs: 100,
      rotator: {
        name: 'ldap',
        params: { target: { url: `ldap://localhost:${slapd.port}`, startTLS: true, ca: 'env:LDAP_CA', admin, user } },
      },
    });
    await sync(secret);
    expect((await rotate(secret.id)).state).toBe('done');
    const old = (await store.get(secret.id, 'CURRENT'))!.value;
    expect((await rotate(secret.id)).state).toBe('done');
    const next = (await store.get(secret.id, 'CURRENT'))!.value;
    expect(next.username).toBe(user);
    expect(await bind(old)).toBe(49);
    expect(await bind(next)).toBe(true);
  });

  it('a password policy refusal ends the run in needs-attention with what to fix, and the account keeps its password', async () => {
    const user = await slapd.addAccount('app-strict', 'before-rotor', { policy: 'cn=strict,ou=policies,dc=rotor,dc=test' });
    const secret = secretFixture('ldap/strict', { rotator: { name: 'ldap', params: { target: { url: slapd.url, admin, user } } } });
    await sync(secret);
    const ended = await rotate(secret.id);
    expect(ended.state).toBe('needs-attention');
    expect(ended.error).toContain("the directory's password policy refused the new password: Password fails quality checking policy");
    expect(await slapd.bind(user, 'before-rotor')).toBe(true);
  });

  it('no generated password appears in Redis, the state tables, rotor’s logs or slapd’s log', async () => {
    const values = generated.map((v) => String(v.password));
    expect(values.length).toBeGreaterThanOrEqual(5);
    expect(await findLeaksInDatabase(db.pool, values)).toEqual([]);
    const inRedis: string[] = [];
    for await (const { key, content } of redisKeysWithContent(privateRedis().url)) {
      if (key.startsWith(prefix) && values.some((v) => content.includes(v))) inRedis.push(key);
    }
    expect(inRedis).toEqual([]);
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.filter((l) => values.some((v) => l.includes(v)))).toEqual([]);
    const slapdLog = slapd.log();
    expect(slapdLog).toContain('EXT oid=1.3.6.1.4.1.4203.1.11.1');
    expect(values.filter((v) => slapdLog.includes(v))).toEqual([]);
  });
});
