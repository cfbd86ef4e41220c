// The JSON API (/api/...): the same data as the pages, and the emergency rotation for scripts.
// Documented in docs/api.md; dates are ISO 8601 strings; errors are { error: { message, hint } }.
import type { Context } from 'hono';
import { Hono } from 'hono';
import { validator } from 'hono/validator';
import type { DashboardDeps } from './app.js';
import { emergencyRotate } from './actions.js';
import type { Guard } from './auth.js';
import { auditPage, calendarView, queueHealth, runDetail, secretDetail, targetDetail } from './details.js';
import { listTargets } from '../state/targets.js';
import { queryInventory } from '../state/inventory.js';
import { operatorApiAuth } from './middleware/operator-auth.js';
import { auditFilter, calendarFilter, inventoryQuery, targetsQuery } from './query-params.js';
import { clientAddress, errorStatus, rules } from './app-helpers.js';

const ENDPOINTS = [
  'GET  /api/secrets?status&class&owner&tag&q&sort&dir&page&perPage',
  'GET  /api/secrets/{id}',
  'POST /api/secrets/{id}/emergency   (Authorization: Bearer <operator token>; JSON { operator, reason, confirm })',
  'GET  /api/runs/{id}',
  'GET  /api/targets?q',
  'GET  /api/targets/{key}   (the key URL-encoded)',
  'GET  /api/calendar?q&class&owner&target&days',
  'GET  /api/audit?secret&run&actor&action&before&limit',
  'GET  /api/queues',
  'GET  /metrics   (Prometheus text format)',
];

export function apiRoutes(deps: DashboardDeps, guard: Guard): Hono {
  const api = new Hono();
  const fail = (c: Context, status: number, message: string, hint?: string) =>
    c.json({ error: { message, ...(hint ? { hint } : {}) } }, status as 400);

  api.get('/', (c) => c.json({ endpoints: ENDPOINTS, docs: 'docs/api.md', actionsEnabled: guard.actionsEnabled }));

  api.get('/secrets', async (c) =>
    c.json(
      await queryInventory(
        deps.pool,
        inventoryQuery((n) => c.req.query(n)),
        rules(deps),
      ),
    ),
  );

  /** A JSON object, whatever its fields: emergencyRotate says what is wrong with them. */
  const jsonObject = validator('json', (value, c) => {
    if (!(c.req.header('content-type') ?? '').toLowerCase().startsWith('application/json'))
      return fail(c, 415, 'send the request as application/json');
    if (!value || typeof value !== 'object' || Array.isArray(value)) return fail(c, 400, 'the body is not a JSON object');
    return value as Record<string, unknown>;
  });

  api.post('/secrets/:id{.+}/emergency', operatorApiAuth({ guard, clientOf: clientAddress }), jsonObject, async (c) => {
    const body = c.req.valid('json');
    try {
      const run = await emergencyRotate(deps.pool, deps.kit, {
        secretId: c.req.param('id'),
        operator: body.operator,
        reason: body.reason,
        confirm: body.confirm,
        overrideFreeze: body.overrideFreeze,
      });
      return c.json({ run }, 201);
    } catch (err) {
      const e = err as Error & { hint?: string };
      const status = errorStatus(err);
      if (status === 500) throw err;
      return fail(c, status, e.message, e.hint);
    }
  });

  api.get('/secrets/:id{.+}', async (c) => {
    const d = await secretDetail(deps.pool, deps.stores, c.req.param('id'), rules(deps), deps.settings.policyRoot);
    if (!d) return fail(c, 404, `no secret ${c.req.param('id')}`);
    return c.json({
      secret: d.item,
      policy: d.policy,
      retiredAt: d.retiredAt,
      versions: d.versions,
      versionsError: d.versionsError,
      runs: d.runs,
    });
  });

  api.get('/runs/:id', async (c) => {
    const d = await runDetail(deps.pool, c.req.param('id'), rules(deps).now);
    return d ? c.json(d) : fail(c, 404, `no run ${c.req.param('id')}`);
  });

  api.get('/targets', async (c) =>
    c.json(
      await listTargets(
        deps.pool,
        rules(deps),
        targetsQuery((n) => c.req.query(n)),
      ),
    ),
  );

  api.get('/targets/:key', async (c) => {
    const d = await targetDetail(deps.pool, c.req.param('key'), rules(deps));
    return d ? c.json(d) : fail(c, 404, `no secret lives on target ${c.req.param('key')}`);
  });

  api.get('/calendar', async (c) =>
    c.json(
      await calendarView(
        deps.pool,
        calendarFilter((n) => c.req.query(n)),
        rules(deps).now,
      ),
    ),
  );

  api.get('/audit', async (c) =>
    c.json(
      await auditPage(
        deps.pool,
        auditFilter((n) => c.req.query(n)),
      ),
    ),
  );

  api.get('/queues', async (c) => c.json(await queueHealth(deps.pool, deps.kit)));

  api.all('*', (c) => fail(c, 404, `no API endpoint ${c.req.method} ${c.req.path}`, 'GET /api lists them'));
  return api;
}
