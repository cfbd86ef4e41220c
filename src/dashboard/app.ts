// The dashboard as a Hono app: pages, the JSON API, /metrics, /events, bull-board, and the one
// action (emergency rotate). A value you can call in-process (`app.request`) or serve (server.ts).
import { readFileSync } from 'node:fs';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type pg from 'pg';
import type { Logger } from '../log.js';
import type { QueueKit } from '../queue/backend.js';
import { EMERGENCY_QUEUE, RUNS_QUEUE } from '../queue/names.js';
import { scrub } from '../redact.js';
import { emergencyRotate } from './actions.js';
import { apiRoutes } from './api.js';
import { clientAddress, errorStatus, rules } from './app-helpers.js';
import { Guard } from './auth.js';
import { BOARD_PATH, bullBoardApp } from './bull-board.js';
import type { DashboardSettings } from './config.js';
import { auditPage, queueHealth, runDetail, secretDetail, type VersionSource } from './details.js';
import { ChangeFeed } from './events.js';
import type { Html } from './html.js';
import { queryInventory } from '../state/inventory.js';
import { errorPage, type PageMeta } from './layout.js';
import { renderMetrics } from './metrics.js';
import { inventoryPage } from './page-inventory.js';
import { auditPageView, queuesPage } from './page-misc.js';
import { runPage } from './page-run.js';
import { secretPage, type EmergencyFormState } from './page-secret.js';
import { auditFilter, inventoryQuery } from './query-params.js';

export interface DashboardDeps {
  pool: pg.Pool;
  kit: QueueKit;
  log: Logger;
  /** Stores whose version metadata the secret page shows; only `describe` is called. */
  stores: VersionSource;
  settings: DashboardSettings;
  now?: () => Date;
}

export interface DashboardApp {
  app: Hono;
  feed: ChangeFeed;
  guard: Guard;
}

const STATIC: Record<string, { body: string; type: string }> = {
  'app.js': { body: readFileSync(new URL('./static/app.js', import.meta.url), 'utf8'), type: 'text/javascript; charset=utf-8' },
  'style.css': { body: readFileSync(new URL('./static/style.css', import.meta.url), 'utf8'), type: 'text/css; charset=utf-8' },
};

/** No inline script anywhere; inline style attributes only (the timeline bars' positions). */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function createDashboardApp(deps: DashboardDeps): DashboardApp {
  const guard = new Guard(deps.settings);
  const feed = new ChangeFeed(deps.pool, deps.settings.pollMs, deps.log);
  const app = new Hono();
  const meta = (title: string, nav: PageMeta['nav']): PageMeta => ({ title, nav, actionsEnabled: guard.actionsEnabled });
  const page = (c: Context, body: Html, status = 200) => c.html(body.text, status as 200);

  app.use('*', async (c, next) => {
    if (!guard.hostAllowed(c.req.header('host'))) {
      return c.text('unknown Host: this dashboard answers only to the names it is configured for (ROTOR_DASHBOARD_ALLOWED_HOSTS)', 421);
    }
    const refused = c.req.path === '/healthz' ? null : guard.checkRead(c, clientAddress(c));
    if (refused) {
      if (refused.status === 401) c.header('WWW-Authenticate', 'Basic realm="rotor", charset="UTF-8"');
      c.header('Cache-Control', 'no-store');
      return c.req.path.startsWith('/api/') ? c.json({ error: { message: refused.message } }, refused.status) : c.text(refused.message, refused.status);
    }
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    // Not no-referrer: with it, browsers send `Origin: null` on same-origin form posts, which the CSRF check refuses.
    c.header('Referrer-Policy', 'same-origin');
    c.header('Cache-Control', 'no-store');
    if (!c.req.path.startsWith(BOARD_PATH)) {
      c.header('Content-Security-Policy', CSP);
      c.header('X-Frame-Options', 'DENY');
    }
  });

  // The only bodies rotor accepts are an emergency form or its JSON: a few hundred bytes.
  app.use('*', bodyLimit({ maxSize: 16 * 1024, onError: (c) => c.text('request body too large', 413) }));

  app.onError((err, c) => {
    const status = errorStatus(err);
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
    const q = inventoryQuery((n) => c.req.query(n));
    const r = rules(deps);
    return page(c, inventoryPage(meta('Inventory', 'inventory'), await queryInventory(deps.pool, q, r), q, r.now));
  });

  async function renderSecret(c: Context, id: string, form: Omit<EmergencyFormState, 'csrf'> = {}, status = 200): Promise<Response> {
    const r = rules(deps);
    const d = await secretDetail(deps.pool, deps.stores, id, r);
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
      guard.checkEnabled() ?? guard.checkSameOrigin(c) ?? guard.checkCsrf(c, field('csrf')) ?? guard.checkToken(field('token'), clientAddress(c));
    if (refusal) {
      deps.log.warn({ secretId: id, status: refusal.status, reason: refusal.message, client: clientAddress(c) }, 'dashboard emergency rotation refused');
      return renderSecret(c, id, { ...kept, error: refusal.message }, refusal.status);
    }
    try {
      const run = await emergencyRotate(deps.pool, deps.kit, { secretId: id, operator: kept.operator, reason: kept.reason, confirm: field('confirm') });
      deps.log.info({ secretId: id, runId: run.id, actor: run.actor }, 'emergency rotation requested from the dashboard');
      return c.redirect(`/runs/${run.id}`, 303);
    } catch (err) {
      const status = errorStatus(err);
      if (status === 500) throw err;
      return renderSecret(c, id, { ...kept, error: (err as Error).message }, status);
    }
  });

  app.get('/runs/:id', async (c) => {
    const d = await runDetail(deps.pool, c.req.param('id'));
    if (!d) return page(c, errorPage(meta('Not found', 'none'), `no run ${c.req.param('id')}`), 404);
    return page(c, runPage(meta(`run ${d.run.id.slice(0, 8)}`, 'none'), d, rules(deps).now, d.run.trigger === 'emergency' ? EMERGENCY_QUEUE : RUNS_QUEUE));
  });

  app.get('/audit', async (c) => {
    const f = auditFilter((n) => c.req.query(n));
    const { rows, nextBefore } = await auditPage(deps.pool, f);
    return page(c, auditPageView(meta('Audit', 'audit'), rows, nextBefore, f, rules(deps).now));
  });

  app.get('/queues', async (c) => page(c, queuesPage(meta('Queues', 'queues'), await queueHealth(deps.pool, deps.kit), rules(deps).now)));

  app.get('/events', (c) => feed.handle(c));

  app.get('/metrics', async (c) => {
    c.header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
    return c.body(await renderMetrics(deps.pool, deps.kit, rules(deps)));
  });

  app.route('/api', apiRoutes(deps, guard));
  app.route(BOARD_PATH, bullBoardApp(deps.kit));
  return { app, feed, guard };
}
