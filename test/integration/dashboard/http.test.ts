// The dashboard over real HTTP against a running rotor (state database, queue, workers): pages,
// filters, the JSON API, /metrics, bull-board, live events, alerts, traces, and the rules of the
// one action: no token, a wrong token, a cross-site POST or a missing CSRF token change nothing.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardSettings } from '../../../src/dashboard/config.js';
import { startDashboard, type DashboardServer } from '../../../src/dashboard/server.js';
import { createRunTracer } from '../../../src/observe/tracing.js';
import { InvalidInputError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { trackedSecrets } from '../../../src/redact.js';
import { REFUSED_EMERGENCY_ACTION } from '../../../src/dashboard/refusal-audit.js';
import { appendAudit, listAudit } from '../../../src/state/audit.js';
import { getIncident, incidentItems } from '../../../src/state/incidents.js';
import { createRun } from '../../../src/state/runs.js';
import { waitFor } from '../../helpers/wait.js';
import { secretFixture, waitForRunEnd } from '../engine/fixtures.js';
import { freezeNow, recordRunEnd, startDashboardEnv, type DashboardEnv } from './setup.js';

const TOKEN = 'test-operator-token-0123456789abcdef';
const bodies: string[] = [];
const alerts: Array<{ text: string }> = [];
let env: DashboardEnv;
let readOnly: DashboardServer;
let hook: Server;
const spans = new InMemorySpanExporter();
const tracer = createRunTracer({ exporter: spans });

async function get(
  path: string,
  init: RequestInit = {},
  base = env.server.url,
): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(base + path, { redirect: 'manual', ...init });
  const body = await res.text();
  bodies.push(body);
  return { status: res.status, body, headers: res.headers };
}

async function json<T = Record<string, unknown>>(path: string, base = env.server.url): Promise<T> {
  const r = await get(path, {}, base);
  expect(r.status, r.body).toBe(200);
  return JSON.parse(r.body) as T;
}

/** A browser session on a page with a form: its cookie, the form's CSRF token and the page. */
async function pageSession(path: string): Promise<{ cookie: string; csrf: string; body: string }> {
  const r = await get(path);
  const cookie = /rotor_sid=([^;]+)/.exec(r.headers.get('set-cookie') ?? '')?.[1];
  const csrf = /name="csrf" value="([^"]+)"/.exec(r.body)?.[1];
  expect(cookie && csrf).toBeTruthy();
  return { cookie: `rotor_sid=${cookie}`, csrf: csrf!, body: r.body };
}

/** A browser session on the secret page. */
const session = (id: string) => pageSession(`/secrets/${id}`);

function form(fields: Record<string, string>): URLSearchParams {
  return new URLSearchParams(fields);
}

async function runsOf(id: string): Promise<number> {
  return (await env.db.pool.query<{ n: number }>('select count(*)::int as n from runs where secret_id = $1', [id])).rows[0]!.n;
}

beforeAll(async () => {
  hook = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      alerts.push(JSON.parse(data) as { text: string });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/T000/B000/xyz`;
  env = await startDashboardEnv({ backend: 'postgres', token: TOKEN, env: { ROTOR_ALERT_WEBHOOK_URL: hookUrl }, tracer });
  readOnly = await startDashboard({
    pool: env.db.pool,
    kit: env.kit,
    log: silentLogger,
    stores: { local: env.store },
    settings: dashboardSettings({ ROTOR_DASHBOARD_PORT: '0' }),
  });
  await env.observe.watcher!.poll(); // elected, cursor at the end of the set-up's audit rows
});

afterAll(async () => {
  await readOnly?.close();
  await env?.stop();
  await new Promise((r) => hook?.close(r));
});

describe('pages', () => {
  it('renders the inventory with every active secret and a status derived from the database', async () => {
    const r = await get('/?status=all');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    for (const id of ['payments/db-app', 'payments/api-key', 'search/es-password', 'billing/stripe-key', 'ops/deploy-key'])
      expect(r.body).toContain(`href="/secrets/${id}"`);
    const inv = await json<{ items: Array<{ id: string; status: string }>; counts: Record<string, number> }>('/api/secrets?perPage=100');
    expect(Object.fromEntries(inv.items.map((i) => [i.id, i.status]))).toEqual({
      'billing/stripe-key': 'needs-attention',
      'search/es-password': 'overdue',
      'ops/deploy-key': 'rotating',
      'payments/api-key': 'due-soon',
      'payments/db-app': 'healthy',
      'legacy/old-db': 'retired',
    });
    expect(inv.counts).toEqual({ 'needs-attention': 1, overdue: 1, rotating: 1, 'due-soon': 1, healthy: 1, retired: 1 });
    // Most urgent first by default.
    expect(inv.items.map((i) => i.status)).toEqual(['needs-attention', 'overdue', 'rotating', 'due-soon', 'healthy', 'retired']);
  });

  it('opens on what needs me now (needs attention, overdue, rotating) under a strip of counts linking to each filter', async () => {
    const r = await get('/');
    const rows = [...r.body.matchAll(/<tr data-secret="([^"]+)">/g)].map((m) => m[1]);
    expect(rows).toEqual(['billing/stripe-key', 'search/es-password', 'ops/deploy-key']);
    const strip = /<section id="chips"[^>]*>(.*?)<\/section>/s.exec(r.body)![1]!;
    const chips = [...strip.matchAll(/<a class="chip( on)?" href="([^"]*)"[^>]*>.*?<b data-count="([^"]+)">(\d+)<\/b>/gs)].map((m) => [
      m[3],
      m[2],
      m[4],
      !!m[1],
    ]);
    expect(chips).toEqual([
      ['now', '/', '3', true],
      ['needs-attention', '/?status=needs-attention', '1', false],
      ['overdue', '/?status=overdue', '1', false],
      ['rotating', '/?status=rotating', '1', false],
      ['due-soon', '/?status=due-soon', '1', false],
      ['healthy', '/?status=healthy', '1', false],
      ['retired', '/?status=retired', '1', false],
      ['all', '/?status=all', '6', false],
    ]);
    // The filters live in the URL: a link keeps them, and the form shows them again on load.
    const filtered = await get('/?status=all&class=critical&q=pay&sort=id&dir=desc');
    expect(filtered.body).toContain('href="/?status=overdue&amp;class=critical&amp;q=pay&amp;sort=id&amp;dir=desc"');
    expect(filtered.body).toMatch(/<option value="all" selected>/);
    expect(filtered.body).toMatch(/<option value="critical" selected>/);
    expect(filtered.body).toContain('name="q" value="pay"');
    expect([...filtered.body.matchAll(/<tr data-secret="([^"]+)">/g)].map((m) => m[1])).toEqual(['payments/db-app', 'payments/api-key']);
    // The API keeps listing everything unless asked for `now`.
    const now = await json<{ items: Array<{ id: string }> }>('/api/secrets?status=now');
    expect(now.items.map((i) => i.id)).toEqual(['billing/stripe-key', 'search/es-password', 'ops/deploy-key']);
  });

  it('filters by class, status, owner and tag, searches, sorts and paginates', async () => {
    const ids = async (q: string) => (await json<{ items: Array<{ id: string }> }>(`/api/secrets?${q}`)).items.map((i) => i.id);
    expect(await ids('status=overdue')).toEqual(['search/es-password']);
    expect((await ids('class=critical')).sort()).toEqual(['payments/api-key', 'payments/db-app']);
    expect((await ids('owner=ops')).sort()).toEqual(['legacy/old-db', 'ops/deploy-key']);
    expect((await ids('tag=db')).sort()).toEqual(['payments/db-app', 'search/es-password']);
    expect(await ids('q=STRIPE')).toEqual(['billing/stripe-key']);
    expect(await ids('sort=id&dir=desc&perPage=2')).toEqual(['search/es-password', 'payments/db-app']);
    const page2 = await json<{ items: Array<{ id: string }>; page: number; pages: number; total: number }>(
      '/api/secrets?sort=id&perPage=4&page=2',
    );
    expect(page2).toMatchObject({ page: 2, pages: 2, total: 6 });
    expect(page2.items.map((i) => i.id)).toEqual(['payments/db-app', 'search/es-password']);
    // The HTML page applies the same filter and offers the facets.
    const html = await get('/?status=needs-attention');
    expect(html.body).toContain('href="/secrets/billing/stripe-key"');
    expect(html.body).not.toContain('href="/secrets/payments/db-app"');
    expect(html.body).toContain('<option value="critical"');
    expect(html.body).toContain('<option value="pci"');
  });

  it('shows a secret: policy, versions and stages without values, runs, and the emergency form', async () => {
    const r = await get('/secrets/payments/db-app');
    expect(r.status).toBe(200);
    const current = await env.store.get('payments/db-app', 'CURRENT');
    expect(r.body).toContain(current!.versionId);
    expect(r.body).toContain('>CURRENT<');
    expect(r.body).toContain('app-env');
    expect(r.body).toContain('id="emergency"');
    expect(r.body).not.toContain(String(current!.value.password));
    // Rotator params as labelled fields, not raw JSON; the policy file relative to the policy root;
    // times with their relative form; a link to the secret's target.
    expect(r.body).toMatch(/<dt>users<\/dt><dd><code>app_a<\/code>, <code>app_b<\/code><\/dd>/);
    expect(r.body).not.toContain('{&quot;users&quot;');
    expect(r.body).toMatch(/<code title="test\.yaml">test\.yaml:1:1<\/code>/);
    expect(r.body).toMatch(/<span class="rel">in 30d<\/span>|<span class="rel">in 29d 23h<\/span>/);
    expect(r.body).toContain('href="/targets/memory%3A%2F%2Fpayments%2Fdb-app"');
    const missing = await get('/secrets/no/such-secret');
    expect(missing.status).toBe(404);
  });

  it('shows a run: the timeline of steps with times, consumer confirmations and its audit rows', async () => {
    const { runs } = await json<{ runs: Array<{ id: string; state: string }> }>('/api/secrets/payments/db-app');
    const done = runs.find((x) => x.state === 'done')!;
    const r = await get(`/runs/${done.id}`);
    expect(r.status).toBe(200);
    for (const step of ['create', 'verify-new', 'promote', 'distribute', 'grace', 'verify-consumers', 'revoke', 'finish'])
      expect(r.body).toContain(`data-step="${step}"`);
    expect(r.body).toContain('app-env');
    expect(r.body).toContain('run.done');
    // Grace is one line (its checks folded in); the step count is "steps run".
    expect(r.body.match(/data-step="grace"/g)).toHaveLength(1);
    expect(r.body).toMatch(/data-step="grace" data-status="succeeded">/); // the span itself: test/unit/dashboard/run-page.test.ts
    expect(r.body).toContain('<th>steps run</th>');
    expect(r.body).not.toMatch(/attempts/i);
    expect(r.body).toMatch(/<dt>grace<\/dt><dd>\d+ms<\/dd>/); // promote's detail { graceMs }, labelled
    const detail = await json<{
      run: { id: string };
      steps: Array<{ step: string; status: string; startedAt: string; finishedAt: string }>;
      consumers: Array<{ consumer: string; confirmedAt: string | null }>;
    }>(`/api/runs/${done.id}`);
    expect(detail.steps.filter((s) => s.status === 'succeeded').map((s) => s.step)).toContain('verify-consumers');
    expect(Date.parse(detail.steps[0]!.startedAt)).toBeGreaterThan(0);
    expect(detail.consumers).toEqual([expect.objectContaining({ consumer: 'app-env', confirmedAt: expect.any(String) })]);
    expect((await get('/runs/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await get('/runs/not-a-uuid')).status).toBe(404);
  });

  it('shows every target with its statuses, and a page per target with its secrets and runs', async () => {
    const list = await get('/targets');
    expect([...list.body.matchAll(/<tr data-target="([^"]+)">/g)].map((m) => m[1])).toEqual([
      'memory://billing/stripe-key', // needs attention, then overdue, rotating... (most urgent first)
      'memory://search/es-password',
      'memory://ops/deploy-key',
      'memory://payments/api-key',
      'memory://payments/db-app',
      'memory://legacy/old-db',
    ]);
    expect([...(await get('/targets?q=PAYMENTS')).body.matchAll(/<tr data-target="([^"]+)">/g)].map((m) => m[1])).toEqual([
      'memory://payments/api-key',
      'memory://payments/db-app',
    ]);
    const one = await get(`/targets/${encodeURIComponent('memory://payments/db-app')}`);
    expect(one.status).toBe(200);
    expect(one.body).toContain('<tr data-secret="payments/db-app">');
    // Its own statuses only: one healthy secret.
    expect(/<section id="target-summary"[^>]*>(.*?)<\/section>/s.exec(one.body)![1]!.match(/class="badge s-[a-z-]+"/g)).toEqual([
      'class="badge s-healthy"',
    ]);
    const { runs } = await json<{ runs: Array<{ id: string }> }>('/api/secrets/payments/db-app');
    for (const run of runs) expect(one.body).toContain(`<tr data-run="${run.id}">`);
    expect(one.body).toContain('href="/?status=all&amp;target=memory%3A%2F%2Fpayments%2Fdb-app"');
    expect((await get('/?status=all&target=memory%3A%2F%2Fpayments%2Fdb-app')).body.match(/<tr data-secret=/g)).toHaveLength(1);
    expect((await get(`/targets/${encodeURIComponent('memory://nothing')}`)).status).toBe(404);
    const api = await json<{ targets: Array<{ key: string; worst: string }>; total: number }>('/api/targets');
    expect(api.total).toBe(6);
    expect(api.targets[0]).toMatchObject({ key: 'memory://billing/stripe-key', worst: 'needs-attention' });
  });

  it('shows the calendar of the next 30 days by day and window, filtered from the URL', async () => {
    const cal = await get('/calendar');
    expect(cal.status).toBe(200);
    const days = [...cal.body.matchAll(/<section class="day" data-day="([^"]+)">/g)].map((m) => m[1]!);
    expect(days[0]).toBe(new Date().toISOString().slice(0, 10));
    expect(days).toContain(new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10)); // payments/api-key
    // Overdue: due now, today; not due within 30 days (ops/deploy-key) or retired: absent.
    expect(cal.body).toMatch(/<tr data-secret="search\/es-password">.*?s-overdue">due now</s);
    expect(cal.body).not.toContain('data-secret="ops/deploy-key"');
    expect(cal.body).not.toContain('data-secret="legacy/old-db"');
    expect(cal.body).toContain('data-window="any time"');
    const filtered = await get('/calendar?q=api&days=7');
    expect([...filtered.body.matchAll(/<tr data-secret="([^"]+)">/g)].map((m) => m[1])).toEqual(['payments/api-key']);
    expect(filtered.body).toContain('name="q" value="api"');
    expect(filtered.body).toMatch(/name="days" type="number" min="1" max="30" value="7"/);
    const api = await json<{ days: Array<{ day: string; rotations: number }>; total: number }>('/api/calendar?days=3');
    expect(api.total).toBe(2); // overdue, and due in two days
  });

  it('shows the audit trail with filters, and queue health', async () => {
    const audit = await get('/audit?secret=legacy/old-db');
    expect(audit.body).toContain('secret.retired');
    expect(audit.body).not.toContain('run.done');
    const a = await json<{ rows: Array<{ action: string; secretId: string }>; nextBefore: number | null }>(
      '/api/audit?action=secret.&limit=2',
    );
    expect(a.rows).toHaveLength(2);
    expect(a.rows.every((row) => row.action.startsWith('secret.'))).toBe(true);
    expect(a.nextBefore).toEqual(expect.any(Number));
    const q = await get('/queues');
    expect(q.body).toContain('rotor-runs');
    const health = await json<{
      backend: string;
      queues: Array<{ name: string; counts: Record<string, number> }>;
      runs: { queued: number };
    }>('/api/queues');
    expect(health.backend).toBe('postgres');
    expect(health.queues.map((x) => x.name)).toEqual(['rotor-runs', 'rotor-emergency', 'rotor-tick']);
    expect(health.runs.queued).toBeGreaterThanOrEqual(1);
  });

  it('answers only to loopback names when bound to loopback (DNS rebinding)', async () => {
    // fetch() will not send a foreign Host header; node:http will, as a rebinding browser would.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${env.server.url}/`, { headers: { host: `evil.example:${env.server.port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(421);
    expect((await get('/', { headers: {} }, env.server.url.replace('127.0.0.1', 'localhost'))).status).toBe(200);
  });
});

describe('metrics and bull-board', () => {
  it('exposes runs, durations, time since success, status counts and BullMQ counts in Prometheus format', async () => {
    const r = await get('/metrics');
    expect(r.headers.get('content-type')).toContain('text/plain');
    expect(r.body).toMatch(/^rotor_runs_total\{trigger="manual",result="rotated"\} \d+$/m);
    expect(r.body).toMatch(/^rotor_runs_total\{trigger="manual",result="discarded"\} 1$/m);
    expect(r.body).toMatch(/^rotor_runs_active\{trigger="manual",state="queued"\} 1$/m);
    expect(r.body).not.toMatch(/^rotor_runs_total\{[^}]*result="queued"/m);
    expect(r.body).toMatch(/^rotor_run_duration_seconds_bucket\{trigger="manual",le="\+Inf"\} \d+$/m);
    expect(r.body).toMatch(/^rotor_secret_seconds_since_last_success\{secret="payments\/db-app"\} \d+$/m);
    expect(r.body).toMatch(/^rotor_secrets_overdue 1$/m);
    expect(r.body).toMatch(/^rotor_secrets_needs_attention 1$/m);
    expect(r.body).toMatch(/^rotor_run_duration_seconds_bucket\{trigger="manual",le="3600"\} \d+$/m);
    expect(r.body).toMatch(/^rotor_run_duration_seconds_count\{trigger="manual"\} \d+$/m);
    expect(r.body).toMatch(/^rotor_secret_last_success_timestamp_seconds\{secret="payments\/db-app"\} \d+$/m);
    expect(r.body).toMatch(/^rotor_secrets\{status="retired"\} 1$/m);
    expect(r.body).toMatch(/^bullmq_job_count\{queue="rotor-emergency",state="\w+"\} \d+$/m);
    expect(r.body).toMatch(/^bullmq_job_count\{queue="rotor-runs",state="delayed"\} 1$/m);
    expect(r.body).toMatch(/^bullmq_job_completed_total\{queue="rotor-runs"\} \d+$/m);
    // One HELP and one TYPE per metric name, however many queues contributed.
    const helps = r.body
      .split('\n')
      .filter((l) => l.startsWith('# HELP '))
      .map((l) => l.split(' ')[2]);
    expect(new Set(helps).size).toBe(helps.length);
  });

  it('mounts bull-board read-only, linking jobs to run pages', async () => {
    const ui = await get('/queues/board');
    expect(ui.status).toBe(200);
    // Framed by nobody, scripts from this origin only (its inline <script> is a JSON data block).
    expect(ui.headers.get('x-frame-options')).toBe('DENY');
    const csp = ui.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("default-src 'none'");
    const inlineScripts = [...ui.body.matchAll(/<script(?![^>]*\bsrc=)([^>]*)>/g)].map((m) => m[1]);
    expect(inlineScripts.every((attrs) => /type="application\/json"/.test(attrs ?? ''))).toBe(true);
    const css = /href="(static\/css\/[^"]+)"/.exec(ui.body)?.[1];
    expect((await get(`/queues/board/${css}`)).status).toBe(200);
    const queues = await json<{ queues: Array<{ name: string; readOnlyMode: boolean }> }>('/queues/board/api/queues');
    expect(queues.queues.map((q) => q.name).sort()).toEqual(['rotor-emergency', 'rotor-runs', 'rotor-tick']);
    expect(queues.queues.every((q) => q.readOnlyMode)).toBe(true);
    const job = await json<{ job: { data: { runId: string }; externalUrl: { href: string } } }>(
      `/queues/board/api/queues/rotor-runs/${env.rotatingRunId}`,
    );
    expect(job.job.data).toEqual({ runId: env.rotatingRunId });
    expect(job.job.externalUrl.href).toBe(`/runs/${env.rotatingRunId}`);
    const pause = await get('/queues/board/api/queues/rotor-runs/pause', { method: 'PUT' });
    expect(pause.status).toBe(405);
    const clean = await get('/queues/board/api/queues/rotor-runs/clean/failed', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(clean.status).toBe(405);
  });
});

describe('emergency rotation', () => {
  const id = 'payments/api-key';

  it('is refused when no operator token is configured: visible, but nothing can be done', async () => {
    const page = await get('/secrets/payments/db-app', {}, readOnly.url);
    expect(page.body).toContain('Emergency rotation is disabled');
    expect(page.body).not.toContain('id="emergency"');
    const before = await runsOf(id);
    const f = await get(
      `/secrets/${id}/emergency`,
      { method: 'POST', body: form({ operator: 'mallory', token: TOKEN, reason: 'x', confirm: id }) },
      readOnly.url,
    );
    expect(f.status).toBe(403);
    expect(f.body).toContain('no operator token is configured');
    const api = await get(
      `/api/secrets/${id}/emergency`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ operator: 'mallory', reason: 'x', confirm: id }),
      },
      readOnly.url,
    );
    expect(api.status).toBe(403);
    expect(await runsOf(id)).toBe(before);
  });

  it('refuses a wrong token, a cross-site POST, and a missing or foreign CSRF token', async () => {
    const { cookie, csrf } = await session(id);
    const other = await session('payments/db-app');
    const good = { operator: 'alice', token: TOKEN, reason: 'leaked in incident 42', confirm: id, csrf };
    const origin = env.server.url;
    const post = (fields: Record<string, string>, headers: Record<string, string>) =>
      get(`/secrets/${id}/emergency`, {
        method: 'POST',
        body: form(fields),
        headers: { cookie, origin, 'sec-fetch-site': 'same-origin', ...headers },
      });
    const before = await runsOf(id);
    expect((await post({ ...good, token: 'wrong-token-wrong-token' }, {})).status).toBe(401);
    expect((await post(good, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await post(good, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const noCsrf = { operator: good.operator, token: good.token, reason: good.reason, confirm: good.confirm };
    expect((await post(noCsrf, {})).status).toBe(403);
    expect((await post({ ...good, csrf: other.csrf }, {})).status).toBe(403);
    expect((await post(good, { cookie: '' })).status).toBe(403);
    const unconfirmed = await post({ ...good, confirm: 'payments/api' }, {});
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.body).toContain('not confirmed');
    expect((await post({ ...good, reason: ' ' }, {})).status).toBe(400);
    // The API: a browser on another site cannot use it either, and a wrong bearer is refused.
    const apiPost = (headers: Record<string, string>) =>
      get(`/api/secrets/${id}/emergency`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ operator: 'alice', reason: 'x', confirm: id }),
      });
    expect((await apiPost({ authorization: `Bearer ${TOKEN}`, origin: 'https://evil.example' })).status).toBe(403);
    expect((await apiPost({ authorization: 'Bearer nope-nope-nope-nope' })).status).toBe(401);
    expect((await apiPost({})).status).toBe(401);
    // The body: JSON only, and an object.
    const apiBody = (contentType: string, body: string) =>
      get(`/api/secrets/${id}/emergency`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType },
        body,
      });
    expect((await apiBody('text/plain', '{}')).status).toBe(415);
    const malformed = await apiBody('application/json', '{"operator":');
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body)).toEqual({ error: { message: expect.any(String) } });
    expect((await apiBody('application/json', '[1]')).status).toBe(400);
    expect(await runsOf(id)).toBe(before);
    // Each refused token (the form's wrong one, the API's wrong and missing ones) is an audit row
    // naming the address and the secret; the token itself is nowhere in it.
    const refused = () => listAudit(env.db.pool, { secretId: id, actionPrefix: REFUSED_EMERGENCY_ACTION });
    await waitFor(async () => (await refused()).length >= 3, { message: 'audit rows for refused emergency attempts' });
    const rows = await refused();
    expect(rows.map((r) => [r.actor, r.reason, (r.detail as { path: string }).path]).sort()).toEqual([
      ['dashboard:127.0.0.1', 'no operator token', `/api/secrets/${id}/emergency`],
      ['dashboard:127.0.0.1', 'wrong operator token', `/api/secrets/${id}/emergency`],
      ['dashboard:127.0.0.1', 'wrong operator token', `/secrets/${id}/emergency`],
    ]);
    expect(JSON.stringify(rows)).not.toMatch(/wrong-token-wrong-token|nope-nope/);
  });

  it('with the token, a reason and the id typed: starts an audited emergency run that completes', async () => {
    const target = env.rotatable;
    const { cookie, csrf } = await session(target);
    const r = await get(`/secrets/${target}/emergency`, {
      method: 'POST',
      headers: { cookie, origin: env.server.url, 'sec-fetch-site': 'same-origin' },
      body: form({ operator: 'alice', token: TOKEN, reason: 'leaked in incident 42', confirm: target, csrf }),
    });
    expect(r.status).toBe(303);
    const runId = /\/runs\/([0-9a-f-]{36})$/.exec(r.headers.get('location') ?? '')?.[1];
    expect(runId).toBeTruthy();
    const ended = await waitForRunEnd(env.db.pool, runId!);
    expect(ended).toMatchObject({
      state: 'done',
      trigger: 'emergency',
      actor: 'dashboard:alice',
      reason: 'leaked in incident 42',
      force: false,
    });
    const audit = await env.db.pool.query('select actor, action, reason from audit where run_id = $1 order by id limit 1', [runId]);
    expect(audit.rows[0]).toEqual({ actor: 'dashboard:alice', action: 'run.requested', reason: 'leaked in incident 42' });
    const page = await get(`/runs/${runId}`);
    expect(page.body).toContain('dashboard:alice');
    expect(page.body).toContain('rotated');
  });

  it('through the API with a bearer token; a second request while one runs is a 409', async () => {
    const body = JSON.stringify({ operator: 'bob', reason: 'scripted drill', confirm: env.rotatable });
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const first = await get(`/api/secrets/${env.rotatable}/emergency`, { method: 'POST', headers, body });
    expect(first.status).toBe(201);
    const run = (JSON.parse(first.body) as { run: { id: string; actor: string; trigger: string } }).run;
    expect(run).toMatchObject({ actor: 'dashboard:bob', trigger: 'emergency' });
    const second = await get(`/api/secrets/${env.rotatable}/emergency`, { method: 'POST', headers, body });
    expect(second.status).toBe(409);
    expect((await waitForRunEnd(env.db.pool, run.id)).state).toBe('done');
  });
});

describe('alerts, traces and live events', () => {
  it('posts to the webhook on emergencies, needs-attention and a secret becoming overdue, each once', async () => {
    await env.observe.watcher!.poll();
    await waitFor(() => alerts.filter((a) => a.text.includes('emergency')).length >= 2, { message: 'emergency alerts' });
    const failed = await createRun(env.db.pool, { secretId: 'payments/api-key', trigger: 'manual', actor: 'test' });
    await recordRunEnd(env.db.pool, failed.id, {
      state: 'needs-attention',
      step: 'finished',
      outcome: 'discarded',
      finishedAt: new Date(),
    });
    await appendAudit(env.db.pool, {
      actor: 'worker:test',
      action: 'run.needs-attention',
      secretId: 'payments/api-key',
      runId: failed.id,
      reason: 'verify-new failed',
    });
    await env.db.pool.query(`update secrets set next_due_at = now() - interval '3 days' where id = 'billing/stripe-key'`);
    await env.observe.watcher!.poll();
    await env.observe.watcher!.poll();
    await waitFor(() => alerts.some((a) => a.text.includes('overdue')), { message: 'overdue alert' });
    const texts = alerts.map((a) => a.text);
    expect(
      texts.filter((t) => t.includes('needs attention') && t.includes('payments/api-key') && t.includes('verify-new failed')),
    ).toHaveLength(1);
    expect(texts.filter((t) => t.includes('overdue') && t.includes('billing/stripe-key'))).toHaveLength(1);
    // search/es-password was overdue before the watcher started: not news.
    expect(texts.some((t) => t.includes('search/es-password'))).toBe(false);
    expect(texts.some((t) => t.includes('dashboard:alice') && t.includes('leaked in incident 42'))).toBe(true);
  });

  it('exports one span per run with a child span per step, the trace id being the run id', async () => {
    await env.observe.watcher!.poll();
    await tracer.flush();
    const roots = spans.getFinishedSpans().filter((s) => s.name === 'rotor.run' && s.attributes['rotor.run.actor'] === 'dashboard:alice');
    expect(roots).toHaveLength(1);
    const root = roots[0]!;
    expect(root.spanContext().traceId).toBe(String(root.attributes['rotor.run.id']).replace(/-/g, ''));
    const children = spans.getFinishedSpans().filter((s) => s.parentSpanContext?.spanId === root.spanContext().spanId);
    expect(children.map((s) => s.name)).toEqual(
      expect.arrayContaining(['rotor.step create', 'rotor.step verify-new', 'rotor.step revoke', 'rotor.step finish']),
    );
    expect(children.every((s) => s.spanContext().traceId === root.spanContext().traceId)).toBe(true);
  });

  it('sends those traces over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    const received: Array<{ path: string; type: string; body: string }> = [];
    const collector = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ path: req.url ?? '', type: String(req.headers['content-type']), body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const saved = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    const otlp = createRunTracer();
    try {
      const run = (await env.db.pool.query<{ id: string }>("select id from runs where state = 'done' order by created_at desc limit 1"))
        .rows[0]!;
      await otlp.exportRun(env.db.pool, run.id);
      await otlp.flush();
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ path: '/v1/traces', type: 'application/json' });
      expect(received[0]!.body).toContain('rotor.step revoke');
      expect(received[0]!.body).toContain(run.id);
    } finally {
      if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = saved;
      await otlp.close();
      await new Promise((r) => collector.close(r));
    }
  });

  it('tells open pages when something changed (Server-Sent Events)', async () => {
    const ac = new AbortController();
    const res = await fetch(`${env.server.url}/events`, { signal: ac.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const read = async (until: string) => {
      while (!text.includes(until)) text += new TextDecoder().decode((await reader.read()).value);
    };
    await read('event: hello');
    await new Promise((r) => setTimeout(r, 250)); // the poller's first look sets the baseline
    await appendAudit(env.db.pool, { actor: 'test', action: 'test.ping', secretId: 'payments/db-app' });
    await read('event: change');
    ac.abort();
  });
});

describe('the read token', () => {
  const READ = 'test-read-token-fedcba9876543210';
  let guarded: DashboardServer;
  beforeAll(async () => {
    guarded = await startDashboard({
      pool: env.db.pool,
      kit: env.kit,
      log: silentLogger,
      stores: { local: env.store },
      settings: dashboardSettings({ ROTOR_DASHBOARD_PORT: '0', ROTOR_DASHBOARD_TOKEN: TOKEN, ROTOR_DASHBOARD_READ_TOKEN: READ }),
    });
  });
  afterAll(async () => guarded?.close());
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const at = (path: string, authorization?: string) => get(path, authorization ? { headers: { authorization } } : {}, guarded.url);

  it('asks every page, the API, /events and /metrics for it; a browser gets a Basic prompt; /healthz stays open', async () => {
    for (const path of [
      '/',
      `/secrets/${env.rotatable}`,
      '/audit',
      '/metrics',
      '/api/secrets',
      '/static/app.js',
      '/queues/board/api/queues',
    ]) {
      const r = await at(path);
      expect(r.status, path).toBe(401);
      expect(r.headers.get('www-authenticate'), path).toBe('Basic realm="rotor"');
      expect(r.body, path).not.toContain(env.rotatable);
    }
    expect((await at('/api/secrets')).body).toContain('"error"');
    expect((await at('/healthz')).status).toBe(200);
    // Any user name with the read token as password (a browser), or the token as Bearer (Prometheus, scripts).
    expect((await at('/?status=all', basic('alice', READ))).body).toContain(env.rotatable);
    expect((await at('/metrics', `Bearer ${READ}`)).body).toContain('rotor_secrets');
    expect((await at('/api/secrets', `Bearer ${TOKEN}`)).status).toBe(200); // the operator token reads too
    const events = await fetch(`${guarded.url}/events`, { headers: { authorization: `Bearer ${READ}` } });
    expect(events.status).toBe(200);
    await events.body?.cancel();
  });

  it('does not let a reader rotate, and holds wrong tokens to the same limit as the operator token, but never refuses the right one', async () => {
    const id = env.rotatable;
    const before = await runsOf(id);
    const api = await get(
      `/api/secrets/${id}/emergency`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${READ}`, 'content-type': 'application/json' },
        body: JSON.stringify({ operator: 'reader', reason: 'x', confirm: id }),
      },
      guarded.url,
    );
    expect(api.status).toBe(401);
    expect(await runsOf(id)).toBe(before);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await at('/', basic('mallory', `guess-${i}`))).status);
    // The reader's emergency attempt was one wrong operator token: nine guesses more make ten.
    expect(statuses.slice(0, 9).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(9)).toEqual([429, 429]);
    // The token is compared before the limit: others' guesses from this address never lock out the right token.
    expect((await at('/', basic('alice', READ))).status).toBe(200);
    expect((await at('/api/secrets', `Bearer ${TOKEN}`)).status).toBe(200);
    expect((await at('/', `Bearer wrong-${READ}`)).status).toBe(429);
    // Every refusal is counted in /metrics (never the token itself).
    const metrics = (await at('/metrics', `Bearer ${READ}`)).body;
    expect(metrics).toMatch(/^rotor_dashboard_token_refusals_total\{token="read",reason="wrong"\} 9$/m);
    expect(metrics).toMatch(/^rotor_dashboard_token_refusals_total\{token="read",reason="limited"\} 3$/m);
    expect(metrics).toMatch(/^rotor_dashboard_token_refusals_total\{token="operator",reason="wrong"\} 1$/m);
    expect(metrics).not.toContain(READ);
  });

  it('refuses a short read token, or one that is the operator token', () => {
    expect(() => dashboardSettings({ ROTOR_DASHBOARD_READ_TOKEN: 'short' })).toThrow(/ROTOR_DASHBOARD_READ_TOKEN is 5 characters/);
    expect(() => dashboardSettings({ ROTOR_DASHBOARD_TOKEN: TOKEN, ROTOR_DASHBOARD_READ_TOKEN: TOKEN })).toThrow(/is the operator token/);
  });
});

describe('an incident over secrets inside a freeze', () => {
  const FIELDS = { operator: 'erin', token: TOKEN, reason: 'quarter-end drill', tags: 'close' };
  let page: { cookie: string; csrf: string; body: string };
  const post = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    get('/incidents', {
      method: 'POST',
      body: form(fields),
      headers: { cookie: page.cookie, origin: env.server.url, 'sec-fetch-site': 'same-origin', ...headers },
    });
  const incidents = async () => (await env.db.pool.query<{ n: number }>('select count(*)::int as n from incidents')).rows[0]!.n;

  beforeAll(async () => {
    await env.addSecrets([
      secretFixture('close/ledger', { tags: ['close'], freezes: [freezeNow('quarter-end close')] }),
      secretFixture('close/report', { tags: ['close'] }),
    ]);
    page = await pageSession('/incidents');
  });

  it('offers the override only once the plan has frozen secrets, behind the same token, origin and CSRF checks', async () => {
    expect(page.body).toContain('id="incident-start"');
    expect(page.body).not.toContain('overrideFreeze');
    const before = await incidents();
    // Without the count: how many secrets, how many of them frozen, and the box, not ticked.
    const asked = await post({ ...FIELDS, csrf: page.csrf });
    expect(asked.status).toBe(400);
    expect(asked.body).toContain('the selection has 2 secrets (1 inside a freeze now); type that number to confirm');
    expect(asked.body).toContain('data-frozen="1"><b>1 of the 2 selected secrets is inside a freeze window now.</b>');
    expect(asked.body).toContain('<input type="checkbox" name="overrideFreeze"> Override freezes');
    // Ticked and confirmed, it is refused exactly as the start without it.
    const ticked = { ...FIELDS, confirm: '2', overrideFreeze: 'on', csrf: page.csrf };
    const wrong = await post({ ...ticked, token: 'wrong-token-wrong-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('<input type="checkbox" name="overrideFreeze" checked>'); // the operator's choice is kept
    expect((await post(ticked, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await post(ticked, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await post({ ...ticked, csrf: '' })).status).toBe(403);
    expect((await post(ticked, { cookie: '' })).status).toBe(403);
    expect((await get('/incidents', { method: 'POST', body: form(ticked) }, readOnly.url)).status).toBe(403);
    expect(await incidents()).toBe(before);
  });

  it('without the box, the frozen secret is not started and says why; the others rotate', async () => {
    const r = await post({ ...FIELDS, confirm: '2', csrf: page.csrf });
    expect(r.status, r.body).toBe(303);
    const id = /\/incidents\/([0-9a-f-]{36})$/.exec(r.headers.get('location') ?? '')![1]!;
    await waitFor(async () => (await getIncident(env.db.pool, id))?.state === 'done', { message: 'the incident to end' });
    expect(await getIncident(env.db.pool, id)).toMatchObject({ overrideFreeze: false, actor: 'dashboard:erin' });
    const items = new Map((await incidentItems(env.db.pool, id)).map((i) => [i.secretId, i]));
    expect(items.get('close/report')).toMatchObject({ runState: 'done', skipped: null });
    expect(items.get('close/ledger')).toMatchObject({ runId: null });
    expect(items.get('close/ledger')!.skipped).toMatch(/^not started: close\/ledger is frozen until \S+ \(quarter-end close: /);
    expect(await listAudit(env.db.pool, { actionPrefix: 'run.freeze-overridden' })).toEqual([]);
    const shown = await get(`/incidents/${id}`);
    expect(shown.body).toContain('not started: close/ledger is frozen until');
    expect(shown.body).not.toContain('data-override-freeze');
  });
});

describe('start-up and leaks', () => {
  it('refuses to bind a non-loopback address without a token, and short tokens', () => {
    expect(() => dashboardSettings({ ROTOR_DASHBOARD_HOST: '0.0.0.0' })).toThrow(InvalidInputError);
    expect(() => dashboardSettings({ ROTOR_DASHBOARD_HOST: '0.0.0.0' })).toThrow(/without an operator token/);
    expect(() => dashboardSettings({ ROTOR_DASHBOARD_TOKEN: 'short' })).toThrow(/at least 16/);
    // Beyond loopback the names clients use must be listed too (DNS rebinding), naming the setting.
    expect(() => dashboardSettings({ ROTOR_DASHBOARD_HOST: '0.0.0.0', ROTOR_DASHBOARD_TOKEN: TOKEN })).toThrow(
      /without ROTOR_DASHBOARD_ALLOWED_HOSTS/,
    );
    expect(
      dashboardSettings({ ROTOR_DASHBOARD_HOST: '0.0.0.0', ROTOR_DASHBOARD_TOKEN: TOKEN, ROTOR_DASHBOARD_ALLOWED_HOSTS: 'rotor.internal' })
        .host,
    ).toBe('0.0.0.0');
  });

  it('never sent a secret value (or the operator token) in any response', async () => {
    // A few more pages, after all the rotations above.
    for (const path of [
      '/',
      '/audit',
      '/queues',
      '/metrics',
      '/api/secrets',
      `/api/secrets/${env.rotatable}`,
      '/api/audit?limit=500',
      '/queues/board/api/queues',
    ])
      await get(path);
    const { runs } = await json<{ runs: Array<{ id: string }> }>(`/api/secrets/${env.rotatable}`);
    for (const r of runs) {
      await get(`/runs/${r.id}`);
      await get(`/api/runs/${r.id}`);
    }
    const values = trackedSecrets();
    expect(values.length).toBeGreaterThan(3); // the rotations' passwords, the token, the webhook URL
    expect(values).toContain(TOKEN);
    const leaks = values.filter((v) => bodies.some((b) => b.includes(v)));
    expect(leaks).toEqual([]);
    expect(bodies.length).toBeGreaterThan(40);
  });
});
