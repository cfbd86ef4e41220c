// A real HTTP server on a free loopback port for consumer tests: it records every request exactly
// as received (raw body bytes, headers) and answers with whatever the test's handler decides.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConsumerContext, ConsumerNotice } from '../../../src/consumers/contract.js';
import { silentLogger } from '../../../src/log.js';

export interface Received {
  method: string;
  /** Path and query as sent. */
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

export interface Answer {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  /** Never answer (the client's timeout must fire). */
  hang?: boolean;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>` */
  base: string;
  requests: Received[];
  /** Decides the answer to each request; default 204. */
  handler: (req: Received) => Answer | Promise<Answer>;
  close(): Promise<void>;
}

export async function startReceiver(handler: Receiver['handler'] = () => ({ status: 204 })): Promise<Receiver> {
  const requests: Received[] = [];
  const hanging = new Set<ServerResponse>();
  const receiver: Receiver = {
    base: '',
    requests,
    handler,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const got: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      requests.push(got);
      void Promise.resolve(receiver.handler(got)).then((a) => {
        if (a.hang) {
          hanging.add(res);
          return;
        }
        res.writeHead(a.status ?? 204, a.headers ?? (a.body ? { 'content-type': 'application/json' } : {}));
        res.end(a.body ?? '');
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

/** A consumer context as the engine builds one: params, references resolved from `refs`. */
export function contextFor<P>(
  params: P,
  refs: Record<string, string> = {},
  signal: AbortSignal = new AbortController().signal,
): ConsumerContext<P> {
  return {
    params,
    async resolveRef(ref) {
      const v = refs[ref];
      if (v === undefined) throw new Error(`test: no value for ${ref}`);
      return v;
    },
    log: silentLogger,
    signal,
  };
}

let counter = 0;

export function noticeFor(secretId = 'payments/db', over: Partial<ConsumerNotice> = {}): ConsumerNotice {
  const runId = `run-${process.pid}-${++counter}-${Date.now()}`;
  return {
    secretId,
    runId,
    versionId: `${runId}-1`,
    store: { backend: 'local', location: secretId },
    revokeAfter: new Date(Date.now() + 3_600_000),
    ...over,
  };
}
