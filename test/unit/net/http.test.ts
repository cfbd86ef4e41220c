// What of a refusing answer's body an error keeps: a short, redacted snippet.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_SNIPPET, send } from '../../../src/net/http.js';

let server: Server;
let url: string;
let answer = '';

beforeAll(async () => {
  server = createServer((_req, res) => res.writeHead(400, { 'content-type': 'text/plain' }).end(answer));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const refuse = () =>
  send({
    url,
    label: 'webhook',
    timeoutMs: 5_000,
    attempts: 1,
    signal: new AbortController().signal,
    build: () => ({ method: 'GET', headers: {} }),
  }).then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: Error) => e.message,
  );

describe('send: a refusing answer in the error', () => {
  it('keeps at most BODY_SNIPPET characters of the body', async () => {
    answer = 'bad signature; ' + 'the receiver explains at length. '.repeat(20);
    const message = await refuse();
    const kept = message.replace(/^webhook answered HTTP 400: /, '');
    expect(BODY_SNIPPET).toBeLessThanOrEqual(80);
    expect(kept.length).toBeLessThanOrEqual(BODY_SNIPPET + 1);
    expect(kept.startsWith('bad signature; the receiver explains')).toBe(true);
  });

  it('does not copy a key or token the receiver echoes', async () => {
    answer = 'invalid key 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 for this hook';
    const message = await refuse();
    expect(message).toBe('webhook answered HTTP 400: invalid key [redacted] for this hook');
  });
});
