// The API's operator check on a bare Hono app: no configured token → 403, a cross-site browser →
// 403, a missing or wrong Bearer → 401 (JSON), the right one passes even after ten wrong ones.
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { Guard } from '../../../../src/dashboard/auth.js';
import { operatorApiAuth } from '../../../../src/dashboard/middleware/operator-auth.js';
import { TokenGate, type RefusedAttempt } from '../../../../src/dashboard/middleware/token-gate.js';
import { silentLogger } from '../../../../src/log.js';

const TOKEN = 'operator-token-0123456789abcdef';

function app(token: string | undefined) {
  const refused: RefusedAttempt[] = [];
  const guard = new Guard(
    { token, publicOrigin: 'https://rotor.example.com' },
    new TokenGate({ log: silentLogger, onRefused: (a) => refused.push(a) }),
  );
  const a = new Hono();
  a.onError((err) => (err instanceof HTTPException ? err.getResponse() : new Response('boom', { status: 500 })));
  a.post('/api/act', operatorApiAuth({ guard, clientOf: () => '192.0.2.1' }), (c) => c.json({ done: true }, 201));
  const post = (headers: Record<string, string> = {}) => a.request('/api/act', { method: 'POST', headers });
  return { post, refused };
}

describe('operatorApiAuth', () => {
  it('refuses everything when no operator token is configured', async () => {
    const r = await app(undefined).post({ authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(403);
    expect(await r.json()).toEqual({ error: { message: expect.stringContaining('no operator token is configured') } });
  });

  it('refuses a browser on another site, even with the token', async () => {
    const { post } = app(TOKEN);
    expect((await post({ authorization: `Bearer ${TOKEN}`, origin: 'https://evil.example' })).status).toBe(403);
    expect((await post({ authorization: `Bearer ${TOKEN}`, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect(
      (await post({ authorization: `Bearer ${TOKEN}`, origin: 'https://rotor.example.com', 'sec-fetch-site': 'same-origin' })).status,
    ).toBe(201);
  });

  it('asks for the Bearer token, and accepts the right one after ten wrong ones from the address', async () => {
    const { post, refused } = app(TOKEN);
    for (const headers of [{}, { authorization: 'Basic Zm9vOmJhcg==' }, { authorization: 'Bearer ' }] as Array<Record<string, string>>) {
      const r = await post(headers);
      expect(r.status).toBe(401);
      expect(await r.json()).toEqual({ error: { message: 'wrong or missing operator token' } });
    }
    for (let i = 0; i < 10; i++) expect((await post({ authorization: `Bearer wrong-${i}` })).status).toBe(401);
    expect((await post({ authorization: 'Bearer wrong-again' })).status).toBe(429);
    expect((await post({ authorization: `Bearer ${TOKEN}` })).status).toBe(201);
    expect(refused.map((r) => r.reason)).toEqual([...Array(3).fill('missing'), ...Array(10).fill('wrong'), 'limited']);
    expect(refused.every((r) => r.kind === 'operator' && r.client === '192.0.2.1')).toBe(true);
  });
});
