// The dashboard as a Hono app: pages, the JSON API, /metrics, /events, bull-board, and the one
// action (emergency rotate). A value you can call in-process (`app.request`) or serve (server.ts).
// It only renders: /metrics comes from the observe module's registry, alerts are sent elsewhere.
import { readFileSync } from 'node:fs';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type pg from 'pg';
import type { Logger } from '../log.js';
import { createMetrics, type RotorMetrics } from '../observe/metrics.js';
import type { QueueKit } from '../queue/backend.js';
import { EMERGENCY_QUEUE, RUNS_QUEUE } from '../queue/names.js';
import { scrub } from '../redact.js';
import { emergencyRotate } from './actions.js';
import { apiRoutes } from './api.js';
import { clientAddress, errorStatus, rules } from './app-helpers.js';
import { Guard } from './auth.js';
import { BOARD_PATH, bullBoardApp } from './bull-board.js';
import type { DashboardSettings } from './config.js';
import { auditPage, calendarView, queueHealth, runDetail, secretDetail, targetDetail, type VersionSource } from './details.js';
import { ChangeFeed } from './events.js';
import type { Html } from './html.js';
import { queryInventory } from '../state/inventory.js';
import { errorPage, type PageMeta } from './layout.js';
import { dashboardHeaders } from './middleware/headers.js';
import { hostCheck } from './middleware/host-check.js';
import { readAuth } from './middleware/read-auth.js';
import { TokenGate } from './middleware/token-gate.js';
import { RefusalAudit } from './refusal-audit.js';
import { DEFAULT_LIMITS, limitRequests, PerClient, type LimitName } from './limits.js';
import { inventoryPage } from './page-inventory.js';
import { auditPageView, queuesPage } from './page-misc.js';
import { runPage } from './page-run.js';
import { getIncident, incidentAudit, incidentItems, listIncidents } from '../state/incidents.js';
import { IncidentNotConfirmedError, startIncidentFromDashboard, type IncidentInput } from './incident-actions.js';
import { incidentPage, incidentsPage, type IncidentFormState } from './page-incident.js';
import { secretPage, type EmergencyFormState } from './page-secret.js';
import { auditFilter, calendarFilter, inventoryQuery, targetsQuery } from './query-params.js';
import { calendarPage } from './page-calendar.js';
import { targetPage, targetsPage } from './page-targets.js';
import { listTargets } from '../state/targets.js';

export interface DashboardDeps {
  pool: pg.Pool;
  kit: QueueKit;
  log: Logger;
  /** Stores whose version metadata the secret page shows; only `describe` is called. */
  stores: VersionSource;
  settings: DashboardSettings;
  /** The registry /metrics serves (the process's own, from src/observe); one is made when absent. */
  metrics?: RotorMetrics | undefined;
  now?: () => Date;
}

export interface DashboardApp {
  app: Hono;
  /** The registry /metrics serves, for the server's connection-limit counter. */
  metrics: RotorMetrics;
  feed: ChangeFeed;
  guard: Guard;
}

const STATIC: Record<string, { body: string; type: string }> = {
  'app.js': { body: readFileSync(new URL('./static/app.js', import.meta.url), 'utf8'), type: 'text/javascript; charset=utf-8' },
  'style.css': { body: readFileSync(new URL('./static/style.css', import.meta.url), 'utf8'), type: 'text/css; charset=utf-8' },
};

export function createDashboardApp(deps: DashboardDeps): DashboardApp {
  const metrics = deps.metrics ?? createMetrics({ db: deps.pool, kit: deps.kit, rules: () => rules(deps) });
  const refusals = new RefusalAudit({ db: deps.pool, log: deps.log });
  const gate = new TokenGate({
    log: deps.log,
    onRefused: (a) => {
      metrics.tokenRefusals.inc({ token: a.kind, reason: a.reason });
      refusals.record(a);
    },
  });
  const guard = new Guard(deps.settings, gate);
  const feed = new ChangeFeed(deps.pool, deps.settings.pollMs, deps.log);
  const app = new Hono();
  const meta = (title: string, nav: PageMeta['nav']): PageMeta => ({ title, nav, actionsEnabled: guard.actionsEnabled });
  const page = (c: Context, body: Html, status = 200) => c.html(body.text, status as 200);

  const limits = deps.settings.limits ?? DEFAULT_LIMITS;
  const refused = (limit: LimitName) => metrics.dashboardRefusals.inc({ limit });
  const streams = new PerClient(limits.maxEventStreams, limits.maxEventStreamsPerClient);
  app.use('*', dashboardHeaders(BOARD_PATH));
  app.use('*', limitRequests(limits, ['/events'], refused));
  app.use('*', hostCheck(deps.settings));
  app.use('*', readAuth({ readToken: deps.settings.readToken, operatorToken: deps.settings.token, gate, clientOf: clientAddress }));

  // The only bodies rotor accepts are an emergency form or its JSON: a few hundred bytes.
  app.use('*', bodyLimit({ maxSize: 16 * 1024, onError: (c) => c.text('request body too large', 413) }));

  app.onError((err, c) => {
    // The auth middleware's refusals carry their own response; a validator's (malformed JSON) does not.
    if (err instanceof HTTPException && err.res) return err.getResponse();
    const status = err instanceof HTTPException ? (err.status as 400) : errorStatus(err);
    const message = scrub(err.message);
    if (status === 500) deps.log.error({ err: message, path: c.req.path }, 'dashboard request failed');
    const text = status === 500 ? 'internal error; see the rotor log' : message;
    if (c.req.path.startsWith('/api/')) return c.json({ error: { message: text } }, status);
    return page(c, errorPage(meta('Error', 'none'), text), status);
  });

  app.get('/static/:file', (c) => {
    const f = STATIC[c.req.param('file')];
    if (!f) return c.notFound();
    c.header('Content-Type', f.type);
    return c.body(f.body);
  });

  app.get('/healthz', async (c) => {
    await deps.pool.query('select 1');
    return c.json({ ok: true });
  });

  app.get('/', async (c) => {
    const q = inventoryQuery((n) => c.req.query(n), 'now');
    const r = rules(deps);
    return page(c, inventoryPage(meta('Inventory', 'inventory'), await queryInventory(deps.pool, q, r), q, r.now));
  });

  async function renderSecret(c: Context, id: string, form: Omit<EmergencyFormState, 'csrf'> = {}, status = 200): Promise<Response> {
    const r = rules(deps);
    const d = await secretDetail(deps.pool, deps.stores, id, r, deps.settings.policyRoot);
    if (!d) return page(c, errorPage(meta('Not found', 'none'), `no secret ${id}`), 404);
    const csrf = guard.actionsEnabled ? guard.csrfToken(guard.session(c)) : undefined;
    return page(c, secretPage(meta(id, 'inventory'), d, r.now, csrf ? { csrf, ...form } : undefined), status);
  }

  app.get('/secrets/:id{.+}', (c) => renderSecret(c, c.req.param('id')));

  app.post('/secrets/:id{.+}/emergency', async (c) => {
    const id = c.req.param('id');
    const body = await c.req.parseBody();
    const field = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined);
    const kept = { operator: field('operator'), reason: field('reason') };
    const refusal =
      guard.checkEnabled() ??
      guard.checkSameOrigin(c) ??
      guard.checkCsrf(c, field('csrf')) ??
      guard.checkToken(field('token'), clientAddress(c), c.req.path);
    if (refusal) {
      deps.log.warn(
        { secretId: id, status: refusal.status, reason: refusal.message, client: clientAddress(c) },
        'dashboard emergency rotation refused',
      );
      return renderSecret(c, id, { ...kept, error: refusal.message }, refusal.status);
    }
    try {
      const run = await emergencyRotate(deps.pool, deps.kit, {
        secretId: id,
        operator: kept.operator,
        reason: kept.reason,
        confirm: field('confirm'),
        overrideFreeze: field('overrideFreeze'),
      });
      deps.log.info({ secretId: id, runId: run.id, actor: run.actor }, 'emergency rotation requested from the dashboard');
      return c.redirect(`/runs/${run.id}`, 303);
    } catch (err) {
      const status = errorStatus(err);
      if (status === 500) throw err;
      return renderSecret(c, id, { ...kept, error: (err as Error).message }, status);
    }
  });

  app.get('/runs/:id', async (c) => {
    const d = await runDetail(deps.pool, c.req.param('id'), rules(deps).now);
    if (!d) return page(c, errorPage(meta('Not found', 'none'), `no run ${c.req.param('id')}`), 404);
    return page(
      c,
      runPage(
        meta(`run ${d.run.id.slice(0, 8)}`, 'none'),
        d,
        rules(deps).now,
        d.run.trigger === 'emergency' ? EMERGENCY_QUEUE : RUNS_QUEUE,
      ),
    );
  });

  async function renderIncidents(c: Context, form: Omit<IncidentFormState, 'csrf'> = {}, status = 200): Promise<Response> {
    const csrf = guard.actionsEnabled ? guard.csrfToken(guard.session(c)) : undefined;
    const list = await listIncidents(deps.pool, 50);
    return page(c, incidentsPage(meta('Incidents', 'incidents'), list, rules(deps).now, csrf ? { csrf, ...form } : undefined), status);
  }

  app.get('/incidents', (c) => renderIncidents(c));

  app.post('/incidents', async (c) => {
    const body = await c.req.parseBody();
    const field = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined);
    const values = Object.fromEntries(
      ['operator', 'reason', 'tags', 'owners', 'classes', 'targets', 'consumers', 'ids', 'perTarget', 'overrideFreeze'].map((k) => [
        k,
        field(k),
      ]),
    );
    const refusal =
      guard.checkEnabled() ??
      guard.checkSameOrigin(c) ??
      guard.checkCsrf(c, field('csrf')) ??
      guard.checkToken(field('token'), clientAddress(c), c.req.path);
    if (refusal) {
      deps.log.warn({ status: refusal.status, reason: refusal.message, client: clientAddress(c) }, 'dashboard incident start refused');
      return renderIncidents(c, { values, error: refusal.message }, refusal.status);
    }
    try {
      const incident = await startIncidentFromDashboard(deps.pool, deps.kit, { ...values, confirm: field('confirm') } as IncidentInput);
      deps.log.info({ incidentId: incident.id, actor: incident.actor }, 'incident started from the dashboard');
      return c.redirect(`/incidents/${incident.id}`, 303);
    } catch (err) {
      const status = errorStatus(err);
      if (status === 500) throw err;
      // Not confirmed yet: the form says how many of the secrets are frozen, and offers to override.
      const frozen = err instanceof IncidentNotConfirmedError ? { secrets: err.frozen, of: err.secrets } : undefined;
      return renderIncidents(c, { values, error: (err as Error).message, frozen }, status);
    }
  });

  app.get('/incidents/:id', async (c) => {
    const id = c.req.param('id');
    const incident = /^[0-9a-f-]{36}$/i.test(id) ? await getIncident(deps.pool, id) : null;
    if (!incident) return page(c, errorPage(meta('Not found', 'none'), `no incident ${id}`), 404);
    const [items, audit] = await Promise.all([incidentItems(deps.pool, id), incidentAudit(deps.pool, id)]);
    return page(c, incidentPage(meta(`incident ${id.slice(0, 8)}`, 'incidents'), incident, items, audit, rules(deps).now));
  });

  app.get('/targets', async (c) => {
    const q = targetsQuery((n) => c.req.query(n));
    const r = rules(deps);
    return page(c, targetsPage(meta('Targets', 'targets'), await listTargets(deps.pool, r, q), q, r.now));
  });

  app.get('/targets/:key', async (c) => {
    const key = c.req.param('key');
    const r = rules(deps);
    const d = await targetDetail(deps.pool, key, r);
    if (!d) return page(c, errorPage(meta('Not found', 'none'), `no secret lives on target ${key}`), 404);
    return page(c, targetPage(meta(key, 'targets'), d, r.now));
  });

  app.get('/calendar', async (c) => {
    const f = calendarFilter((n) => c.req.query(n));
    const now = rules(deps).now;
    return page(c, calendarPage(meta('Calendar', 'calendar'), await calendarView(deps.pool, f, now), f, now));
  });

  app.get('/audit', async (c) => {
    const f = auditFilter((n) => c.req.query(n));
    const { rows, nextBefore } = await auditPage(deps.pool, f);
    return page(c, auditPageView(meta('Audit', 'audit'), rows, nextBefore, f, rules(deps).now));
  });

  app.get('/queues', async (c) => page(c, queuesPage(meta('Queues', 'queues'), await queueHealth(deps.pool, deps.kit), rules(deps).now)));

  app.get('/events', (c) => {
    const slot = streams.take(clientAddress(c));
    if (typeof slot === 'string') {
      refused(slot === 'total' ? 'event_streams' : 'event_streams_per_client');
      return c.text('rotor dashboard: too many open /events streams; try again later\n', 503, {
        'Retry-After': '10',
        'Cache-Control': 'no-store',
      });
    }
    return feed.handle(c, slot);
  });

  app.get('/metrics', async (c) => {
    c.header('Content-Type', metrics.contentType);
    return c.body(await metrics.render());
  });

  app.route('/api', apiRoutes(deps, guard));
  app.route(BOARD_PATH, bullBoardApp(deps.kit));
  return { app, feed, guard, metrics };
}
