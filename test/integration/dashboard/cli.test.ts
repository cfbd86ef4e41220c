// `rotor dashboard` as a process: it serves a running rotor's state read-only without a token,
// refuses a non-loopback address without one before touching anything, and stops on SIGTERM.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { waitFor } from '../../helpers/wait.js';
import { secretFixture } from '../engine/fixtures.js';

const BIN = new URL('../../../bin/rotor.js', import.meta.url).pathname;

function rotor(args: string[], env: Record<string, string>) {
  // Only what the test says: no Redis (the queue runs on the state database), no token, no alerts.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ROTOR_') && !k.startsWith('OTEL_')));
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '', code: undefined as number | null | undefined };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r((out.code = code))));
  return { child, out, exited };
}

describe('rotor dashboard', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('dashboard-cli');
    await migrate(db.pool);
    await syncSecrets(db.pool, [secretFixture('cli/app-db', { className: 'critical' })], {
      actor: 'test',
      targetKeyOf: () => 'memory://x',
      nextDueOf: () => new Date(Date.now() + 86_400_000),
    });
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('serves the inventory on 127.0.0.1, read-only without a token, and stops on SIGTERM', async () => {
    const p = rotor(['dashboard', '--port', '0'], { ROTOR_DATABASE_URL: db.url });
    const url = await waitFor(
      () =>
        /dashboard: (http:\/\/127\.0\.0\.1:\d+)/.exec(p.out.stdout)?.[1] ??
        (p.out.code !== undefined ? Promise.reject(new Error(p.out.stderr)) : null),
      { timeoutMs: 30_000, message: 'the dashboard URL' },
    );
    expect(p.out.stdout).toContain('read-only');
    const page = await fetch(`${url}/?status=all`);
    expect(await page.text()).toContain('href="/secrets/cli/app-db"');
    const refused = await fetch(`${url}/api/secrets/cli/app-db/emergency`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(refused.status).toBe(403);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('refuses to listen on a non-loopback address without an operator token', async () => {
    const p = rotor(['dashboard', '--host', '0.0.0.0', '--port', '0'], { ROTOR_DATABASE_URL: db.url });
    expect(await p.exited).toBe(2);
    expect(p.out.stderr).toContain('refusing to serve the dashboard on 0.0.0.0 without an operator token');
    expect(p.out.stderr).toContain('ROTOR_DASHBOARD_TOKEN');
  });
});
