// aws-rds-master with MySQL engines (mariadb, mysql, aurora-mysql) on the RDS fake backed by a
// private MariaDB: full engine runs, the new master password verified with a real mysql2 login,
// the old one refused with 1045; an engine RDS reports that rotor cannot verify is refused.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestRotation } from '../../../src/engine/request.js';
import { silentLogger } from '../../../src/log.js';
import type { ResolvedSecret } from '../../../src/policy/types.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { loadRotators } from '../../../src/rotator/catalogue.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { installAwsFakes } from '../../helpers/aws/install.js';
import { FakeRds } from '../../helpers/aws/rds.js';
import { rdsMasterRotator } from '../../helpers/aws/rig.js';
import { startMariadbServer, type MariadbServerHandle } from '../../helpers/mariadb-server.js';
import { mysqlLogin } from '../../helpers/mysql-login.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { secretFixture, waitForRunEnd } from '../engine/fixtures.js';

describe('aws-rds-master on MySQL engines', () => {
  let db: TestDatabase;
  let maria: MariadbServerHandle;
  let kit: QueueKit;
  let runtime: Runtime;
  let store: SecretStore;
  let rds: FakeRds;
  let uninstall: () => void;

  beforeAll(async () => {
    maria = await startMariadbServer();
    db = await createTestDatabase('rds mysql');
    await migrate(db.pool);
    rds = new FakeRds({ adminUrl: db.url, mysqlAdminUrl: maria.url, applyDelayMs: 200 });
    uninstall = installAwsFakes({ rds });
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
    await loadRotators(['aws-rds-master']);
    store = createLocalStore({ pool: db.pool, key: randomBytes(32) });
    runtime = await startRuntime({
      pool: db.pool,
      kit,
      log: silentLogger,
      stores: { local: store },
      resolveRef: async () => '',
      nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
      pollMs: 50,
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await kit?.close();
    uninstall?.();
    await db?.drop();
    await maria?.stop();
  });

  const sync = (s: ResolvedSecret) =>
    syncSecrets(db.pool, [s], { actor: 'test', targetKeyOf: (x) => x.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
  const rotate = async (id: string) =>
    waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: id, trigger: 'manual', actor: 'test' })).id, 30_000);

  /** A master user on the MariaDB with a password nobody tracks, and an RDS database naming it. */
  async function rdsSecret(engine: string, cluster: boolean): Promise<{ secret: ResolvedSecret; master: string; id: string }> {
    const master = `m_${randomBytes(3).toString('hex')}`;
    await maria.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [master, `initial-${randomBytes(12).toString('hex')}`]);
    const id = `${engine}-${randomBytes(3).toString('hex')}`;
    await rds.addDb({
      kind: cluster ? 'cluster' : 'instance',
      id,
      engine,
      masterUsername: master,
      host: maria.host,
      port: maria.port,
      dbName: '',
    });
    const secret = secretFixture(`aws/${id}`, {
      graceMs: 100,
      rotator: rdsMasterRotator(cluster ? { clusterId: id } : { instanceId: id }),
    });
    await sync(secret);
    return { secret, master, id };
  }

  it.each([
    ['mariadb', false],
    ['mysql', false],
    ['aurora-mysql', true],
  ] as const)('%s: the new master password logs in (mysql2), the old one gets 1045', async (engine, cluster) => {
    const { secret, master } = await rdsSecret(engine, cluster);
    expect(await rotate(secret.id)).toMatchObject({ state: 'done', outcome: 'rotated' });
    const first = (await store.get(secret.id, 'CURRENT'))!.value;
    expect(first).toMatchObject({ engine, host: maria.host, port: maria.port, username: master });
    expect(first.dbname).toBeUndefined();
    expect(await mysqlLogin(maria, first)).toBe('ok');
    expect(await rotate(secret.id)).toMatchObject({ state: 'done', outcome: 'rotated' });
    const second = (await store.get(secret.id, 'CURRENT'))!.value;
    expect(await mysqlLogin(maria, second)).toBe('ok');
    expect(await mysqlLogin(maria, first)).toBe(1045);
  });

  it('refuses an engine rotor cannot log in to, changing nothing', async () => {
    const id = `oracle-${randomBytes(3).toString('hex')}`;
    await rds.addDb({
      kind: 'instance',
      id,
      engine: 'oracle-ee',
      masterUsername: 'admin',
      host: maria.host,
      port: maria.port,
      dbName: 'ORCL',
    });
    const secret = secretFixture(`aws/${id}`, { rotator: rdsMasterRotator({ instanceId: id }) });
    await sync(secret);
    const ended = await rotate(secret.id);
    expect(ended.state).toBe('needs-attention');
    expect(ended.error).toContain('runs oracle-ee; rotor can verify master passwords of PostgreSQL and MySQL engines only');
    expect((await rds.calls()).filter((c) => c.includes(id) && c.includes('MasterUserPassword'))).toEqual([]);
  });
});
