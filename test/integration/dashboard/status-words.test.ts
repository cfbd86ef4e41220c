// One status word per secret, wherever it is read: `rotor status` (text and --json), `rotor status
// <id>`, /api/secrets, /api/secrets/<id>, the inventory page and the secret page, with secrets in
// each of the six statuses (the failed last run included) and the same status rules everywhere.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATUSES } from '../../../src/state/status.js';
import { rotor } from '../../helpers/cli.js';
import { startDashboardEnv, type DashboardEnv } from './setup.js';

/** What setup.ts drives each secret into. */
const EXPECTED: Record<string, string> = {
  'billing/stripe-key': 'needs-attention', // its last run ended in needs-attention
  'search/es-password': 'overdue', // due two days ago
  'ops/deploy-key': 'rotating', // a queued run
  'payments/api-key': 'due-soon', // due in two days
  'payments/db-app': 'healthy', // rotated, due in 30 days
  'legacy/old-db': 'retired', // left the policies
};

/** Non-default rules, given to the dashboard and the CLI alike. */
const RULES = { ROTOR_DASHBOARD_DUE_SOON: '3d', ROTOR_OVERDUE_TOLERANCE: '2h' };

let env: DashboardEnv;
let home: string;

beforeAll(async () => {
  env = await startDashboardEnv({ backend: 'postgres', env: RULES });
  home = await mkdtemp(join(tmpdir(), 'rotor-status-words-'));
});

afterAll(async () => {
  await env?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

/** `rotor <args>` against the test's state database, with only the ROTOR_ settings given here. */
async function cli(args: string[], extra: Record<string, string> = {}): Promise<string> {
  const r = await rotor(args, { ROTOR_DATABASE_URL: env.db.url, ROTOR_HOME: home, ...RULES, ...extra });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(env.server.url + path);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

async function page(path: string): Promise<string> {
  const res = await fetch(env.server.url + path);
  expect(res.status).toBe(200);
  return res.text();
}

describe('a secret has one status word', () => {
  it('covers all six statuses', () => {
    expect(new Set(Object.values(EXPECTED))).toEqual(new Set(STATUSES));
  });

  it('in rotor status, rotor status --json, rotor status <id>, the API and the pages', async () => {
    const ids = Object.keys(EXPECTED);
    const [text, json, ...one] = await Promise.all([cli(['status']), cli(['status', '--json']), ...ids.map((id) => cli(['status', id]))]);

    // rotor status: a header, then `id  status  last success  next due` (indented lines say what a run waits for).
    const rowLines = text!
      .trim()
      .split('\n')
      .slice(1)
      .filter((line) => !line.startsWith(' '));
    const fromText = Object.fromEntries(rowLines.map((line) => line.split(/\s+/).slice(0, 2)));
    expect(fromText).toEqual(EXPECTED);
    expect(text).not.toMatch(/\sdue\s/);

    const fromJson = Object.fromEntries((JSON.parse(json!) as Array<{ id: string; status: string }>).map((r) => [r.id, r.status]));
    expect(fromJson).toEqual(EXPECTED);

    // rotor status <id>: `Status:         <word>` among its lines.
    const fromOne = Object.fromEntries(ids.map((id, i) => [id, /^Status:\s+(\S+)$/m.exec(one[i]!)?.[1]]));
    expect(fromOne).toEqual(EXPECTED);

    const inv = await api<{ items: Array<{ id: string; status: string }> }>('/api/secrets?perPage=100');
    expect(Object.fromEntries(inv.items.map((i) => [i.id, i.status]))).toEqual(EXPECTED);

    const fromApiOne = Object.fromEntries(
      await Promise.all(ids.map(async (id) => [id, (await api<{ secret: { status: string } }>(`/api/secrets/${id}`)).secret.status])),
    );
    expect(fromApiOne).toEqual(EXPECTED);

    const html = await page('/?status=all&perPage=100');
    const fromPage = Object.fromEntries(
      [...html.matchAll(/<tr data-secret="([^"]+)"><td>.*?<\/td><td><span class="badge s-([a-z-]+)">/gs)].map((m) => [m[1], m[2]]),
    );
    expect(fromPage).toEqual(EXPECTED);

    const fromSecretPage = Object.fromEntries(
      await Promise.all(
        ids.map(async (id) => [id, /id="summary"[^>]*><p><span class="badge s-([a-z-]+)">/.exec(await page(`/secrets/${id}`))?.[1]]),
      ),
    );
    expect(fromSecretPage).toEqual(EXPECTED);

    // /metrics counts one secret per status.
    const metrics = await page('/metrics');
    for (const s of STATUSES) expect(metrics).toContain(`rotor_secrets{status="${s}"} 1`);
  }, 240_000); // eight CLI processes, each compiling rotor at start

  it('follows the status rules rotor status is given (ROTOR_DASHBOARD_DUE_SOON)', async () => {
    // Due in two days: due soon within 3d, healthy within 1d.
    const rows = JSON.parse(await cli(['status', '--json'], { ROTOR_DASHBOARD_DUE_SOON: '1d' })) as Array<{ id: string; status: string }>;
    expect(rows.find((r) => r.id === 'payments/api-key')?.status).toBe('healthy');
  });
});
