// A small "API key service", the kind of third-party API the command rotator is for: an admin
// token issues and deletes keys, clients call with `Authorization: Bearer <key>`, and a client may
// hold a live session open (a streaming request) that the admin API counts per key.
//
// In memory, on 127.0.0.1 only: an example and a test target, not a product.
//   ADMIN_TOKEN=... node examples/command-rotator/api-service.mjs [--port 8080]
/* global process, console, URL */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

/**
 * Starts the service; `port: 0` picks a free port. Resolves once it listens.
 * @param {{ adminToken: string, port?: number }} opts
 */
export async function startApiKeyService({ adminToken, port = 0 }) {
  if (!adminToken) throw new Error('startApiKeyService needs an adminToken');
  /** @type {Map<string, { id: string, name: string, key: string, createdAt: string }>} */
  const keys = new Map();
  /** @type {Map<string, number>} live sessions per key id */
  const sessions = new Map();

  const byKey = (key) => [...keys.values()].find((k) => k.key === key);
  const bearer = (req) => /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];

  const server = createServer(async (req, res) => {
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;

    if (path.startsWith('/admin/')) {
      if (bearer(req) !== adminToken) return send(401, { error: 'admin token required' });
      if (req.method === 'POST' && path === '/admin/keys') {
        const body = JSON.parse((await readBody(req)) || '{}');
        const k = {
          id: `key_${randomBytes(4).toString('hex')}`,
          name: String(body.name ?? ''),
          key: `ak_${randomBytes(24).toString('base64url')}`,
          createdAt: new Date().toISOString(),
        };
        keys.set(k.id, k);
        return send(201, { id: k.id, key: k.key });
      }
      if (req.method === 'GET' && path === '/admin/keys') {
        return send(
          200,
          [...keys.values()].map(({ id, name, createdAt }) => ({ id, name, createdAt })),
        );
      }
      const m = /^\/admin\/keys\/([\w-]+)(\/sessions)?$/.exec(path);
      if (m && req.method === 'DELETE' && !m[2]) return keys.delete(m[1]) ? send(204) : send(404, { error: 'no such key' });
      if (m && req.method === 'GET' && m[2])
        return keys.has(m[1]) ? send(200, { sessions: sessions.get(m[1]) ?? 0 }) : send(404, { error: 'no such key' });
      return send(404, { error: 'not found' });
    }

    const k = byKey(bearer(req));
    if (!k) return send(401, { error: 'invalid API key' });
    if (req.method === 'GET' && path === '/v1/whoami') return send(200, { id: k.id, name: k.name });
    if (req.method === 'GET' && path === '/v1/stream') {
      // A live session: open until the client goes away.
      sessions.set(k.id, (sessions.get(k.id) ?? 0) + 1);
      res.once('close', () => sessions.set(k.id, Math.max(0, (sessions.get(k.id) ?? 1) - 1)));
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('session open\n');
      return;
    }
    return send(404, { error: 'not found' });
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return {
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    /** How many keys exist (tests look for leftovers). */
    keyCount: () => keys.size,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve(undefined));
      }),
  };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (text += c));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const portArg = process.argv.indexOf('--port');
  const service = await startApiKeyService({
    adminToken: process.env.ADMIN_TOKEN ?? '',
    port: portArg > 0 ? Number(process.argv[portArg + 1]) : 8080,
  });
  console.log(`API key service listening on ${service.url}`);
}
