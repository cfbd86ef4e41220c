// The tamper-evident audit trail: rows chained by migration 0008 and by every insert, concurrent
// writers that never fork the chain, `rotor audit verify` finding an edited, a deleted and a
// truncated row, and `rotor audit export` streaming every row as JSON lines or CSV.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../../../src/state/audit.js';
import { inTransaction } from '../../../src/state/db.js';
import { listMigrations, migrate } from '../../../src/state/migrate.js';
import { cliFixture, type CliFixture } from '../../helpers/cli-fixture.js';

describe('the audit hash chain', () => {
  let fx: CliFixture;

  beforeAll(async () => {
    fx = await cliFixture('audit_chain', { migrate: false });
    // Rows written before the chain existed are chained by the migration.
    await migrate(
      fx.db.pool,
      listMigrations().filter((m) => m.version < 8),
    );
    await fx.db.pool.query(
      `insert into audit (actor, action, secret_id, reason) values ('alice', 'secret.added', 'db/a', 'before'), ('bob', 'run.requested', 'db/a', null)`,
    );
    await migrate(fx.db.pool);
  });

  afterAll(() => fx?.close());

  const cli = (args: string[]) => fx.cli(args);

  /** Changes the trail as someone with the table owner's rights could: triggers off for one session. */
  async function tamper(sql: string, args: unknown[] = []): Promise<void> {
    const c = await fx.db.pool.connect();
    try {
      await c.query('set session_replication_role = replica');
      await c.query(sql, args);
    } finally {
      await c.query('reset session_replication_role');
      c.release();
    }
  }

  it('chains old rows, and concurrent writers (autocommit and in transactions) never fork the chain', async () => {
    const old = await fx.db.pool.query<{ id: number; prev_hash: string | null; hash: string }>(
      'select id::int, prev_hash, hash from audit order by id',
    );
    expect(old.rows).toHaveLength(2);
    expect(old.rows[0]!.prev_hash).toBeNull();
    expect(old.rows[1]!.prev_hash).toBe(old.rows[0]!.hash);

    const writes = Array.from({ length: 40 }, (_, i) =>
      i % 2
        ? appendAudit(fx.db.pool, { actor: `w${i}`, action: 'test.write', reason: `r${i}`, detail: { i } })
        : inTransaction(fx.db.pool, async (c) => {
            await appendAudit(c, { actor: `t${i}`, action: 'test.write', detail: { i, first: true } });
            await appendAudit(c, { actor: `t${i}`, action: 'test.write', detail: { i, second: true } });
          }),
    );
    await Promise.all(writes);
    const links = await fx.db.pool.query<{ n: number; forks: number }>(
      `select count(*)::int as n, (count(prev_hash) - count(distinct prev_hash))::int as forks from audit`,
    );
    expect(links.rows[0]).toEqual({ n: 62, forks: 0 });

    const r = await cli(['audit', 'verify']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^audit chain intact: 62 rows, the last \d+, head matches$/m);
  });

  it('verify names an edited row, a deleted row and deleted rows at the end, exiting 7', async () => {
    const ids = (await fx.db.pool.query<{ id: number }>('select id::int from audit order by id')).rows.map((r) => r.id);
    const edited = ids[10]!;
    const original = (await fx.db.pool.query<{ reason: string | null }>('select reason from audit where id = $1', [edited])).rows[0]!
      .reason;
    await tamper(`update audit set reason = 'nothing to see' where id = $1`, [edited]);
    let r = await cli(['audit', 'verify', '--json']);
    expect(r.code, r.stderr).toBe(7);
    expect(JSON.parse(r.stdout)).toMatchObject({
      rows: 10,
      broken: { id: edited, problem: expect.stringContaining('changed after it was written') },
    });
    r = await cli(['audit', 'verify']);
    expect(r.code).toBe(7);
    expect(r.stdout).toContain(`row ${edited} does not match its hash`);

    // Put the reason back: the hash matches again.
    await tamper(`update audit set reason = $2 where id = $1`, [edited, original]);
    expect((await cli(['audit', 'verify'])).code).toBe(0);

    const deleted = ids[20]!;
    await tamper('delete from audit where id = $1', [deleted]);
    r = await cli(['audit', 'verify']);
    expect(r.code).toBe(7);
    expect(r.stdout).toContain(`row ${ids[21]} does not link to row ${ids[19]} before it`);
    await tamper('delete from audit where id >= $1', [ids[21]]);
    r = await cli(['audit', 'verify']);
    expect(r.code).toBe(7);
    expect(r.stdout).toContain(`the chain's head is row ${ids[ids.length - 1]} but the last row is ${ids[19]}`);
  });
});

describe('rotor audit export', () => {
  let fx: CliFixture;

  beforeAll(async () => {
    fx = await cliFixture('audit_export');
    // More rows than one batch (1000), so export pages.
    await fx.db.pool.query(
      `insert into audit (actor, action, secret_id, reason, detail)
       select 'scheduler', 'run.requested', 'db/s' || g, 'batch', jsonb_build_object('n', g) from generate_series(1, 2400) g`,
    );
    await appendAudit(fx.db.pool, {
      actor: 'carol',
      action: 'run.requested',
      secretId: 'db/x',
      reason: 'says "hi", then\nleaves',
      detail: { a: 1 },
    });
  });

  afterAll(() => fx?.close());

  const cli = (args: string[]) => fx.cli(args);

  it('streams every row as JSON lines, oldest first, each linked to the one before', async () => {
    const r = await cli(['audit', 'export', '--format', 'jsonl']);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: number; hash: string; prevHash: string | null; reason: string });
    expect(rows).toHaveLength(2401);
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prevHash).toBe(rows[i - 1]!.hash);
    expect(rows[2400]!.reason).toBe('says "hi", then\nleaves');
  });

  it('--since keeps later rows; CSV quotes what needs quoting; a bad --since or --format exits 2', async () => {
    const cut = new Date(Date.now() + 60_000).toISOString();
    const none = await cli(['audit', 'export', '--since', cut]);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toBe('');

    const csv = await cli(['audit', 'export', '--since', '2000-01-01T00:00:00Z', '--format', 'csv']);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout.startsWith('id,at,actor,action,secret_id,run_id,reason,detail,prev_hash,hash\n')).toBe(true);
    expect(csv.stdout).toMatch(/,carol,run\.requested,db\/x,,"says ""hi"", then\nleaves","{""a"":1}",[0-9a-f]{64},[0-9a-f]{64}\n$/);
    expect(csv.stdout.split('\n').filter((l) => /^\d+,/.test(l))).toHaveLength(2401);

    for (const args of [
      ['--since', 'yesterday'],
      ['--format', 'xml'],
    ]) {
      const bad = await cli(['audit', 'export', ...args]);
      expect(bad.code).toBe(2);
      expect(bad.stdout).toBe('');
    }
  });
});
