// A fake SaaS API for the http rotator's tests, in process on 127.0.0.1: an account with API keys
// and the rules a real provider enforces. At most `keyLimit` keys at once (creating more answers
// 400 with a limit error, as payment providers' and token APIs' do); every call authenticates with
// `Authorization: Bearer <key or admin token>`, and a deleted key is refused (401) from that moment.
//
//   POST   /v1/keys                 admin token or a live key: { name? } → 201 { id, secret, name, api }
//   GET    /v1/keys                 admin token or a live key → 200 { data: [{ id, name, created }] }
//   DELETE /v1/keys/:id             admin token or a live key → 204, 404 when there is no such key
//   GET    /v1/keys/:id/sessions    admin token → 200 { active: <live sessions of that key> }
//   GET    /v1/me                   a live key → 200 { id } (what "verify" calls)
//   GET    /v1/stream               a live key: a session held open until the client leaves
//   GET    /v1/moved                a live key → 302 to /v1/me (rotor must not follow it)
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface FakeKey {
  id: string;
  secret: string;
  name: string;
  created: string;
}

export interface FakeSaas {
  url: string;
  adminToken: string;
  /** Keys as the provider holds them now. */
  keys(): FakeKey[];
  /** Every secret the provider ever issued (for leak scans). */
  issued(): string[];
  /** A key made outside rotor (by an operator, before rotor): returned with its secret. */
  seed(name?: string): FakeKey;
  /** What a client holding `secret` gets from GET /v1/me: 200 when it works, 401 when refused. */
  statusFor(secret: string): Promise<number>;
  /** Every request seen: method, path, status (never headers or bodies). */
  readonly log: Array<{ method: string; path: string; status: number }>;
  /** Answers the next `n` requests with 503 (a provider having a bad minute). */
  failNext(n: number): void;
  /**
   * While on, keys created are never activated (a provider that holds new keys for review): a
   * request that authenticates with one gets 401, though the key is listed and can be deleted.
   */
  holdNewKeys(on: boolean): void;
  close(): Promise<void>;
}

export async function startFakeSaas(opts: { keyLimit?: number; adminToken?: string } = {}): Promise<FakeSaas> {
  const keyLimit = opts.keyLimit ?? 2;
  const adminToken = opts.adminToken ?? `adm_${randomBytes(24).toString('base64url')}`;
  const keys = new Map<string, FakeKey>();
  const sessions = new Map<string, number>();
  const log: FakeSaas['log'] = [];
  const issued: string[] = [];
  let failures = 0;
  let holding = false;
  const held = new Set<string>();

  const make = (name: string): FakeKey => {
    const k = {
      id: `key_${randomBytes(6).toString('hex')}`,
      secret: `sk_${randomBytes(24).toString('base64url')}`,
      name,
      created: new Date().toISOString(),
    };
    keys.set(k.id, k);
    issued.push(k.secret);
    if (holding) held.add(k.id);
    return k;
  };

  let port = 0;
  const server = createServer((req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      log.push({ method: req.method ?? '', path, status });
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    const text = await readBody(req);
    if (failures > 0) {
      failures--;
      return send(503, { error: { type: 'api_error', message: 'try again' } });
    }
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const admin = token === adminToken;
    const key = [...keys.values()].find((k) => k.secret === token && !held.has(k.id));
    if (!admin && !key) return send(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });

    if (req.method === 'POST' && path === '/v1/keys') {
      if (keys.size >= keyLimit) {
        return send(400, {
          error: { type: 'invalid_request_error', code: 'key_limit', message: `at most ${keyLimit} keys; delete one first` },
        });
      }
      let body: { name?: unknown };
      try {
        body = text ? (JSON.parse(text) as { name?: unknown }) : {};
      } catch {
        return send(400, { error: { type: 'invalid_request_error', message: 'body is not JSON' } });
      }
      const k = make(String(body.name ?? ''));
      // `api`: where the key works, as providers with regional endpoints say (the chaos clients read it).
      return send(201, {
        object: 'api_key',
        id: k.id,
        secret: k.secret,
        name: k.name,
        created: k.created,
        api: { engine: 'fake-saas', host: '127.0.0.1', port },
      });
    }
    if (req.method === 'GET' && path === '/v1/keys') {
      return send(200, { object: 'list', data: [...keys.values()].map(({ id, name, created }) => ({ id, name, created })) });
    }
    const m = /^\/v1\/keys\/([\w-]+)(\/sessions)?$/.exec(path);
    if (m && req.method === 'DELETE' && !m[2]) {
      if (!keys.delete(m[1]!)) return send(404, { error: { type: 'invalid_request_error', message: 'No such key' } });
      return send(204);
    }
    if (m && req.method === 'GET' && m[2]) {
      if (!admin) return send(403, { error: { type: 'permission_error', message: 'admin token required' } });
      return keys.has(m[1]!) ? send(200, { active: sessions.get(m[1]!) ?? 0 }) : send(404, { error: { message: 'No such key' } });
    }
    if (!key) return send(403, { error: { type: 'permission_error', message: 'a key is required here' } });
    if (req.method === 'GET' && path === '/v1/me') return send(200, { id: key.id, name: key.name });
    if (req.method === 'GET' && path === '/v1/moved') return send(302, undefined, { location: '/v1/me' });
    if (req.method === 'GET' && path === '/v1/stream') {
      sessions.set(key.id, (sessions.get(key.id) ?? 0) + 1);
      res.once('close', () => sessions.set(key.id, Math.max(0, (sessions.get(key.id) ?? 1) - 1)));
      log.push({ method: 'GET', path, status: 200 });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('session open\n');
      return;
    }
    return send(404, { error: { message: 'not found' } });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    adminToken,
    log,
    keys: () => [...keys.values()],
    issued: () => [...issued],
    seed: (name = 'made by hand') => make(name),
    async statusFor(secret) {
      return (await fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${secret}` } })).status;
    },
    failNext(n) {
      failures = n;
    },
    holdNewKeys(on) {
      holding = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}
