// The read-token middleware on a bare Hono app: Bearer or Basic password, the operator token reads
// too, /healthz is open, refusals are JSON under /api, and the failure limit never refuses the
// right token because of wrong ones from the same address.
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../../src/log.js';
import { readAuth } from '../../../../src/dashboard/middleware/read-auth.js';
import { TokenGate, type RefusedAttempt } from '../../../../src/dashboard/middleware/token-gate.js';
import { textSink } from '../../../helpers/sink.js';

const READ = 'read-token-0123456789abcdef';
const OPERATOR = 'operator-token-fedcba9876543210';

function app(opts: { client?: () => string } = {}) {
  const sink = textSink();
  const refused: RefusedAttempt[] = [];
  const gate = new TokenGate({ log: createLogger({ level: 'info', destination: sink.out }), onRefused: (a) => refused.push(a) });
  const a = new Hono();
  a.use('*', readAuth({ readToken: READ, operatorToken: OPERATOR, gate, clientOf: opts.client ?? (() => '10.0.0.7') }));
  a.onError((err) => (err instanceof HTTPException ? err.getResponse() : new Response('boom', { status: 500 })));
  a.get('*', (c) => c.text('inside'));
  const get = (path: string, authorization?: string) => a.request(path, authorization ? { headers: { authorization } } : {});
  return { get, refused, log: sink.text };
}
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('readAuth', () => {
  it('lets in the read token or the operator token, as Bearer or as a Basic password with any user name', async () => {
    const { get } = app();
    for (const auth of [`Bearer ${READ}`, `bearer ${OPERATOR}`, basic('alice', READ), basic('', OPERATOR)]) {
      const r = await get('/', auth);
      expect(r.status, auth).toBe(200);
      expect(await r.text()).toBe('inside');
    }
  });

  it('asks for it with a Basic challenge, in JSON under /api, and leaves /healthz open', async () => {
    const { get, refused } = app();
    const page = await get('/');
    expect(page.status).toBe(401);
    expect(page.headers.get('www-authenticate')).toBe('Basic realm="rotor"');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(await page.text()).toContain('needs its read token');
    const api = await get('/api/secrets', 'Bearer not a token at all');
    expect(api.status).toBe(401);
    expect(await api.json()).toEqual({ error: { message: expect.stringContaining('needs its read token') } });
    expect((await get('/healthz')).status).toBe(200);
    expect(refused.map((r) => r.reason)).toEqual(['missing', 'missing']);
  });

  it('accepts the right token after ten wrong ones from the same address, while wrong ones get 429', async () => {
    const { get, refused, log } = app();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await get('/', `Bearer wrong-guess-${i}`)).status);
    expect(statuses).toEqual(Array(10).fill(401));
    expect((await get('/', basic('mallory', 'one-more-guess'))).status).toBe(429);
    // Compared first, counted only when wrong: the right token is never refused for others' guesses.
    expect((await get('/', `Bearer ${READ}`)).status).toBe(200);
    expect((await get('/', basic('alice', READ))).status).toBe(200);
    expect((await get('/', `Bearer wrong-guess-11`)).status).toBe(429);
    expect(refused.map((r) => r.reason)).toEqual([...Array(10).fill('wrong'), 'limited', 'limited']);
    expect(refused.every((r) => r.kind === 'read' && r.client === '10.0.0.7' && r.path === '/')).toBe(true);
    // Every refusal is logged, with the address and never the token.
    const lines = log()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; client: string; reason: string });
    expect(lines).toHaveLength(12);
    expect(lines.every((l) => l.msg === 'dashboard token refused' && l.client === '10.0.0.7')).toBe(true);
    expect(log()).not.toContain('wrong-guess');
    expect(log()).not.toContain('one-more-guess');
    expect(log()).not.toContain(READ);
  });

  it('counts failures per address: another address is not limited by the first', async () => {
    let client = '10.0.0.1';
    const { get } = app({ client: () => client });
    for (let i = 0; i < 10; i++) await get('/', `Bearer wrong-${i}`);
    expect((await get('/', 'Bearer wrong-again')).status).toBe(429);
    client = '10.0.0.2';
    expect((await get('/', 'Bearer wrong-elsewhere')).status).toBe(401);
  });

  it('does nothing when no read token is configured', async () => {
    const gate = new TokenGate({ log: createLogger({ level: 'silent' }) });
    const a = new Hono();
    a.use('*', readAuth({ readToken: undefined, operatorToken: OPERATOR, gate, clientOf: () => 'x' }));
    a.get('/', (c) => c.text('open'));
    expect((await a.request('/')).status).toBe(200);
  });
});
