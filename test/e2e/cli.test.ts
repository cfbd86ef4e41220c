// The rotor executable end to end: `rotor start` on a real state database, `rotor rotate
// --emergency --wait` from another process, status/history/audit/secret get, and exit codes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait.js';
import { ROTOR_BIN as BIN, rotor } from '../helpers/cli.js';

describe('the rotor CLI', () => {
  let db: TestDatabase;
  let dir: string;
  let server: ChildProcess | undefined;
  let serverOut = '';
  let env: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase('cli');
    await db.pool.query('create role cli_app nologin; create role cli_a login in role cli_app; create role cli_b login in role cli_app');
    dir = await mkdtemp(join(tmpdir(), 'rotor-cli-'));
    await writeFile(
      join(dir, 'app.yaml'),
      `classes:
  fast:
    cadence: 1d
    grace: 1s
    emergencyGrace: 0s
secrets:
  - id: cli/app-db
    owner: platform-team
    class: fast
    rotator: postgres
    strategy: alternating-users
    target:
      host: ${db.host}
      port: ${db.port}
      database: ${db.name}
      users: [cli_a, cli_b]
      group: cli_app
      admin: env:CLI_ADMIN_URL
      sslmode: disable
    store: { backend: local }
    consumers:
      - { type: env-file, name: app-env, path: ${join(dir, 'app.env')} }
`,
    );
    env = {
      ROTOR_DATABASE_URL: db.url,
      ROTOR_HOME: join(dir, 'home'),
      ROTOR_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      ROTOR_TICK_MS: '3600000',
      ROTOR_POLL_MS: '100',
      CLI_ADMIN_URL: db.url,
      ROTOR_LOG_LEVEL: 'warn',
    };
    server = spawn(process.execPath, [BIN, 'start', '--policies', dir, '--no-dashboard'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (d: Buffer) => (serverOut += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (serverOut += d.toString()));
    await waitFor(() => serverOut.includes('rotor is running') || server!.exitCode !== null, { timeoutMs: 60_000, message: 'rotor start' });
    if (server.exitCode !== null) throw new Error(`rotor start exited ${server.exitCode}: ${serverOut}`);
  }, 120_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    await db?.pool.query('drop role if exists cli_a; drop role if exists cli_b; drop role if exists cli_app').catch(() => undefined);
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts on a state database and says what it started', () => {
    expect(serverOut).toContain('policies: 1 secrets');
    expect(serverOut).toContain('queue:');
  });

  it('rotates in an emergency from another process and waits for the end', async () => {
    // The secret was never rotated, so the scheduler's first tick at start-up rotates it; while that
    // run is active a manual request is refused with the run's id (exit 4).
    await waitFor(async () => (await db.pool.query("select 1 from runs where trigger = 'schedule'")).rowCount === 1, { timeoutMs: 20_000 });
    await waitFor(async () => (await db.pool.query("select 1 from runs where trigger = 'schedule' and state = 'done'")).rowCount === 1, {
      timeoutMs: 30_000,
      message: 'the scheduled first rotation',
    });
    const r = await rotor(['rotate', 'cli/app-db', '--emergency', '--reason', 'drill', '--yes', '--wait', '--actor', 'alice'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/revoke\s+succeeded/);
    expect(r.stdout).toContain('done (rotated)');
    const secret = await rotor(['secret', 'get', 'cli/app-db', '--field', 'password'], env);
    expect(secret.code).toBe(0);
    const value = secret.stdout;
    const c = new pg.Client({
      host: db.host,
      port: db.port,
      database: db.name,
      user: (await rotor(['secret', 'get', 'cli/app-db', '--field', 'username'], env)).stdout,
      password: value,
    });
    await c.connect();
    await c.end();
    // Only `secret get` prints the value: no other command's output contains it.
    for (const args of [['status'], ['status', 'cli/app-db'], ['history', 'cli/app-db'], ['audit', '--json']]) {
      const out = await rotor(args, env);
      expect(out.code).toBe(0);
      expect(out.stdout + out.stderr).not.toContain(value);
    }
    expect(serverOut).not.toContain(value);
    const audit = JSON.parse((await rotor(['audit', '--secret', 'cli/app-db', '--json'], env)).stdout) as Array<{
      actor: string;
      action: string;
      reason: string | null;
    }>;
    expect(audit).toContainEqual(expect.objectContaining({ actor: 'alice', action: 'run.requested', reason: 'drill' }));
  }, 60_000);

  it('exits with documented codes on bad requests, changing nothing', async () => {
    const unknown = await rotor(['rotate', 'no/such-secret'], env);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('no active secret no/such-secret');
    // A typo of a known id: the error names it, in every command that takes one.
    for (const args of [
      ['rotate', 'cli/app-bd'],
      ['status', 'cli/app-bd'],
      ['history', 'cli/appdb'],
      ['secret', 'get', 'cli/app-bd'],
    ]) {
      const typo = await rotor(args, env);
      expect(typo.code, args.join(' ')).toBe(3);
      expect(typo.stderr).toContain('did you mean `cli/app-db`?');
    }
    const active = '00000000-0000-4000-8000-000000000004';
    await db.pool.query("insert into runs (id, secret_id, trigger, actor) values ($1, 'cli/app-db', 'manual', 'test')", [active]);
    const busy = await rotor(['rotate', 'cli/app-db'], env);
    await db.pool.query("update runs set state = 'needs-attention', step = 'finished', error = 'test' where id = $1", [active]);
    expect(busy.code).toBe(4);
    expect(busy.stderr).toContain(`already being rotated by run ${active}`);
    const noReason = await rotor(['rotate', 'cli/app-db', '--emergency', '--yes'], env);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('needs a reason');
    const noTty = await rotor(['rotate', 'cli/app-db', '--emergency', '--reason', 'x'], env);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toContain('--yes');
    // The scheduled first rotation, the emergency one, and the inserted one: the refused requests added none.
    const runs = await db.pool.query('select count(*)::int as n from runs');
    expect(runs.rows[0].n).toBe(3);
  });

  it('plans against the state database: next due from the last success, and what a sync would change', async () => {
    const same = await rotor(['plan', dir], env);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toContain('the state database matches these policies (1 secrets)');
    const other = join(dir, 'other');
    await mkdir(other);
    const text = (await readFile(join(dir, 'app.yaml'), 'utf8')).replace('cli/app-db', 'cli/new-db');
    await writeFile(join(other, 'app.yaml'), text);
    const changed = await rotor(['plan', other], env);
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toContain('a sync would add 1 (cli/new-db); retire 1 (cli/app-db); 0 unchanged');
  });
});
