// A hostile client against the dashboard while rotations run in the same process: the limits
// (src/dashboard/limits.ts) answer 503 and count it, half-sent requests are cut off, and neither
// the rotations nor /healthz stop. The full-size flood is `npm run bench -- hostile`.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardSettings } from '../../../src/dashboard/config.js';
import { startDashboard, type DashboardServer } from '../../../src/dashboard/server.js';
import { requestRotation } from '../../../src/engine/request.js';
import { silentLogger } from '../../../src/log.js';
import { startFlood } from '../../helpers/flood.js';
import { waitFor } from '../../helpers/wait.js';
import { waitForRunEnd } from '../engine/fixtures.js';
import { startDashboardEnv, type DashboardEnv } from './setup.js';

let env: DashboardEnv;
beforeAll(async () => {
  env = await startDashboardEnv({ backend: 'postgres' });
}, 60_000);
afterAll(() => env?.stop());

/** Opens a connection, sends half a request, and resolves with what the server answered and when it closed. */
function halfOpen(url: string, localAddress = '127.0.0.1'): Promise<{ answer: string; closedAfterMs: number }> {
  const { port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve) => {
    let answer = '';
    const s = connect({ host: '127.0.0.1', port: Number(port), localAddress });
    s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
    s.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => resolve({ answer, closedAfterMs: Date.now() - started }));
  });
}

async function metric(url: string, limit: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^rotor_dashboard_limit_refusals_total\\{limit="${limit}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
}

describe('dashboard limits', () => {
  let small: DashboardServer;
  beforeAll(async () => {
    const settings = dashboardSettings({
      ROTOR_DASHBOARD_PORT: '0',
      ROTOR_DASHBOARD_HEADERS_TIMEOUT_MS: '1000',
      ROTOR_DASHBOARD_MAX_CONNECTIONS: '8',
      ROTOR_DASHBOARD_MAX_CONNECTIONS_PER_CLIENT: '3',
      ROTOR_DASHBOARD_MAX_EVENT_STREAMS_PER_CLIENT: '1',
    });
    small = await startDashboard({ pool: env.db.pool, kit: env.kit, log: silentLogger, stores: { local: env.store }, settings });
  });
  afterAll(() => small?.close());

  it('cuts off a request whose headers never finish, within the header timeout', async () => {
    const r = await halfOpen(small.url);
    expect(r.closedAfterMs).toBeLessThan(4_000);
    expect(r.answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('answers 503 past the per-client and the total connection limits, and counts both in /metrics', async () => {
    const held = [1, 2, 3].map(() => halfOpen(small.url, '127.0.0.2'));
    await new Promise((r) => setTimeout(r, 200));
    const fourth = await halfOpen(small.url, '127.0.0.2');
    expect(fourth.answer).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(fourth.answer).toContain('too many connections');
    // Another address is still served, until the total is reached.
    const more = [1, 2, 3, 4, 5].map((i) => halfOpen(small.url, `127.0.0.${10 + i}`));
    await new Promise((r) => setTimeout(r, 200));
    const ninth = await halfOpen(small.url, '127.0.0.30');
    expect(ninth.answer).toMatch(/^HTTP\/1\.1 503/);
    await Promise.all([...held, ...more]); // the header timeout frees them
    expect(await metric(small.url, 'connections_per_client')).toBeGreaterThanOrEqual(1);
    expect(await metric(small.url, 'connections')).toBeGreaterThanOrEqual(1);
  }, 15_000);

  it('answers 503 to a second /events stream from one client, and serves it once the first closes', async () => {
    const first = new AbortController();
    const a = await fetch(`${small.url}/events`, { signal: first.signal });
    expect(a.status).toBe(200);
    const b = await fetch(`${small.url}/events`);
    expect(b.status).toBe(503);
    expect(await b.text()).toContain('too many open /events streams');
    expect(await metric(small.url, 'event_streams_per_client')).toBe(1);
    first.abort();
    await expect(a.text()).rejects.toThrow();
    let c: Response | undefined;
    for (let i = 0; i < 50 && c?.status !== 200; i++) {
      if (c) await c.body?.cancel();
      await new Promise((r) => setTimeout(r, 50));
      c = await fetch(`${small.url}/events`);
    }
    expect(c?.status).toBe(200);
    await c?.body?.cancel();
  });
});

describe('a flood while rotations run in the same process', () => {
  it('every rotation completes, /healthz answers, the limits refuse the rest', async () => {
    const before = await metric(env.server.url, 'connections_per_client');
    // 1,000 half-open connections and 200 /events streams from four addresses: each holds its 200
    // connections (20 of them streams), the rest are refused; the total (1,000) is not reached,
    // so /healthz, asked from 127.0.0.1, gets in. (Filling the total takes more addresses than
    // ROTOR_DASHBOARD_MAX_CONNECTIONS / ..._PER_CLIENT: the README says so.)
    const flood = startFlood({
      url: env.server.url,
      halfOpen: 1_000,
      streams: 200,
      sources: ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'],
    });
    const latencies: number[] = [];
    const statuses: number[] = [];
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const t = Date.now();
        const r = await fetch(`${env.server.url}/healthz`).catch(() => undefined);
        statuses.push(r?.status ?? 0);
        await r?.text();
        latencies.push(Date.now() - t);
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    try {
      // The flood is in place: the listen backlog lets connections in over a few seconds.
      await waitFor(
        async () =>
          (await metric(env.server.url, 'connections_per_client')) > before &&
          (await metric(env.server.url, 'event_streams_per_client')) > 0,
        {
          timeoutMs: 20_000,
          message: 'the flood to reach the limits',
        },
      );
      const outcomes: string[] = [];
      for (let i = 0; i < 5; i++) {
        const run = await requestRotation(env.db.pool, env.kit, {
          secretId: env.rotatable,
          trigger: 'manual',
          actor: 'flood-test',
          reason: `under flood ${i}`,
        });
        outcomes.push((await waitForRunEnd(env.db.pool, run.id, 30_000)).state);
      }
      expect(outcomes).toEqual(['done', 'done', 'done', 'done', 'done']);
      expect(flood.stats.held()).toBeGreaterThan(500);
    } finally {
      probing = false;
      await probe;
      await flood.stop();
    }
    expect(statuses.length).toBeGreaterThan(5);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(flood.stats.refused503).toBeGreaterThan(0);
  }, 60_000);
});
