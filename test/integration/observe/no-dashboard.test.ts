// `rotor start --no-dashboard` as a process still alerts: a run that fails at once (its admin
// connection names a database that does not exist) ends in needs-attention, and a real webhook
// receiver on loopback gets the alert, with no dashboard served anywhere.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROTOR_BIN } from '../../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { waitFor } from '../../helpers/wait.js';
import { startReceiver, type Receiver } from '../consumers/receiver.js';

describe('rotor start --no-dashboard', () => {
  let db: TestDatabase;
  let dir: string;
  let hook: Receiver;
  let server: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    db = await createTestDatabase('observe-no-dashboard');
    dir = await mkdtemp(join(tmpdir(), 'rotor-observe-'));
    hook = await startReceiver(() => ({ status: 200, body: '{}' }));
    await writeFile(
      join(dir, 'app.yaml'),
      `classes:
  fast: { cadence: 1d, grace: 1s }
secrets:
  - id: observe/broken-db
    owner: platform-team
    class: fast
    rotator: postgres
    strategy: alternating-users
    target:
      host: ${db.host}
      port: ${db.port}
      database: ${db.name}
      users: [observe_a, observe_b]
      group: observe_app
      admin: env:OBSERVE_ADMIN_URL
      sslmode: disable
    store: { backend: local }
`,
    );
    // Only what the test says: no Redis, no dashboard settings, no tracing from the outer environment.
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ROTOR_') && !k.startsWith('OTEL_')));
    const env = {
      ...base,
      ROTOR_DATABASE_URL: db.url,
      ROTOR_HOME: join(dir, 'home'),
      ROTOR_MASTER_KEY: Buffer.alloc(32, 9).toString('base64'),
      ROTOR_TICK_MS: '3600000',
      ROTOR_POLL_MS: '100',
      ROTOR_ALERT_POLL_MS: '100',
      ROTOR_ALERT_WEBHOOK_URL: `${hook.base}/hooks/T000/B000/observe`,
      ROTOR_LOG_LEVEL: 'warn',
      // A database that does not exist: the create step fails for good (SQLSTATE 3D000).
      OBSERVE_ADMIN_URL: db.url.replace(/\/[^/?]+(\?|$)/, '/rotor_no_such_database$1'),
    };
    server = spawn(process.execPath, [ROTOR_BIN, 'start', '--policies', dir, '--no-dashboard'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(() => output.includes('rotor is running') || server!.exitCode !== null, { timeoutMs: 60_000, message: 'rotor start' });
    if (server.exitCode !== null) throw new Error(`rotor start exited ${server.exitCode}: ${output}`);
  }, 120_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    await hook?.close();
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('posts the needs-attention alert of a failing run to the webhook, with no dashboard served', async () => {
    expect(output).toContain('alerts:    to the webhook');
    expect(output).not.toContain('dashboard:');
    const alert = await waitFor(() => hook.requests.find((r) => r.body.includes('needs attention')), {
      timeoutMs: 60_000,
      message: 'the needs-attention alert',
    });
    if (!alert) throw new Error('unreachable: waitFor resolved without a request');
    expect(alert.method).toBe('POST');
    expect(alert.url).toBe('/hooks/T000/B000/observe');
    expect(alert.headers['content-type']).toBe('application/json');
    const { text } = JSON.parse(alert.body) as { text: string };
    expect(text).toContain('observe/broken-db');
    const run = (await db.pool.query<{ id: string; state: string }>("select id, state from runs where secret_id = 'observe/broken-db'"))
      .rows[0];
    expect(run?.state).toBe('needs-attention');
    expect(text).toContain(`run ${run!.id}`); // no dashboard, no origin: the run id, not a link
    // Once: later passes do not say it again.
    await new Promise((r) => setTimeout(r, 500));
    expect(hook.requests.filter((r) => r.body.includes('needs attention'))).toHaveLength(1);
  }, 90_000);
});
