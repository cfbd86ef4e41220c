// The Host check (DNS rebinding: 421 for a foreign name) and the response headers of every answer.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { dashboardHeaders } from '../../../../src/dashboard/middleware/headers.js';
import { hostAllowed, hostCheck } from '../../../../src/dashboard/middleware/host-check.js';

describe('hostCheck', () => {
  const loopback = { host: '127.0.0.1', allowedHosts: [], publicOrigin: undefined };

  it('on loopback answers only to loopback names', async () => {
    const app = new Hono().use('*', hostCheck(loopback)).get('/', (c) => c.text('ok'));
    expect((await app.request('/', { headers: { host: '127.0.0.1:8080' } })).status).toBe(200);
    expect((await app.request('/')).status).toBe(421); // no Host at all
    expect((await app.request('/', { headers: { host: 'localhost:8080' } })).status).toBe(200);
    expect((await app.request('/', { headers: { host: '[::1]:8080' } })).status).toBe(200);
    const rebound = await app.request('/', { headers: { host: 'evil.example:8080' } });
    expect(rebound.status).toBe(421);
    expect(await rebound.text()).toContain('ROTOR_DASHBOARD_ALLOWED_HOSTS');
  });

  it('honours the allowed hosts and the public origin', () => {
    expect(hostAllowed({ ...loopback, allowedHosts: ['rotor.internal'] }, 'rotor.internal:8080')).toBe(true);
    expect(hostAllowed({ ...loopback, allowedHosts: ['rotor.internal'] }, 'localhost')).toBe(false);
    expect(hostAllowed({ ...loopback, publicOrigin: 'https://rotor.example.com' }, 'rotor.example.com')).toBe(true);
    expect(hostAllowed({ host: '0.0.0.0', allowedHosts: [], publicOrigin: undefined }, 'anything.example')).toBe(true);
    expect(hostAllowed(loopback, undefined)).toBe(false);
  });
});

describe('dashboardHeaders', () => {
  const app = new Hono()
    .use('*', dashboardHeaders('/queues/board'))
    .get('/', (c) => c.html('<p>page</p>'))
    .get('/queues/board', (c) => c.html('<p>board</p>'));

  it('sends a strict CSP, no framing, no sniffing, same-origin referrers and no caching on pages', async () => {
    const r = await app.request('/');
    expect(r.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('referrer-policy')).toBe('same-origin');
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.headers.get('strict-transport-security')).toBeNull(); // the TLS proxy's decision, not rotor's
  });

  it('gives bull-board a CSP of its own (scripts from this origin, no framing), still uncached', async () => {
    const r = await app.request('/queues/board');
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("script-src 'self' 'unsafe-inline'");
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('cache-control')).toBe('no-store');
  });
});
