// What the dashboard holds open for its clients, bounded: header, request and keep-alive timeouts,
// connections (in all and per client address), /events streams (in all and per client address)
// and requests handled at once. A client past a limit gets 503 and the refusal is counted in
// /metrics (rotor_dashboard_limit_refusals_total), so one client cannot use up rotor's file
// descriptors, or the state database connections the workers share, in the same process.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { InvalidInputError } from '../errors.js';

export interface DashboardLimits {
  /** A client must send its request headers within this. @defaultValue 10 s */
  headersTimeoutMs: number;
  /** ...and the whole request within this. @defaultValue 30 s */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. @defaultValue 5 s */
  keepAliveTimeoutMs: number;
  /** @defaultValue 1000 */
  maxConnections: number;
  /** @defaultValue 200 */
  maxConnectionsPerClient: number;
  /** Open /events streams. @defaultValue 200 */
  maxEventStreams: number;
  /** @defaultValue 20 (a few browser tabs) */
  maxEventStreamsPerClient: number;
  /** Requests handled at once (they read the state database, whose pool the workers share). @defaultValue 4 */
  maxConcurrentRequests: number;
  /** Requests waiting for one of those slots; more get 503. @defaultValue 100 */
  maxQueuedRequests: number;
}

export type LimitName = 'connections' | 'connections_per_client' | 'event_streams' | 'event_streams_per_client' | 'requests';

const int = (min: number, max: number, dflt: number) => z.coerce.number().int().min(min).max(max).default(dflt);
const env = z.object({
  ROTOR_DASHBOARD_HEADERS_TIMEOUT_MS: int(1_000, 600_000, 10_000),
  ROTOR_DASHBOARD_REQUEST_TIMEOUT_MS: int(1_000, 3_600_000, 30_000),
  ROTOR_DASHBOARD_KEEPALIVE_TIMEOUT_MS: int(100, 600_000, 5_000),
  ROTOR_DASHBOARD_MAX_CONNECTIONS: int(1, 1_000_000, 1_000),
  ROTOR_DASHBOARD_MAX_CONNECTIONS_PER_CLIENT: int(1, 1_000_000, 200),
  ROTOR_DASHBOARD_MAX_EVENT_STREAMS: int(0, 1_000_000, 200),
  ROTOR_DASHBOARD_MAX_EVENT_STREAMS_PER_CLIENT: int(0, 1_000_000, 20),
  ROTOR_DASHBOARD_MAX_CONCURRENT_REQUESTS: int(1, 10_000, 4),
  ROTOR_DASHBOARD_MAX_QUEUED_REQUESTS: int(0, 1_000_000, 100),
});

export function dashboardLimits(source: NodeJS.ProcessEnv = process.env): DashboardLimits {
  const parsed = env.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new InvalidInputError(`invalid dashboard limits: ${problems}`, { hint: 'see the Limits table in the README security section' });
  }
  const e = parsed.data;
  return {
    headersTimeoutMs: Math.min(e.ROTOR_DASHBOARD_HEADERS_TIMEOUT_MS, e.ROTOR_DASHBOARD_REQUEST_TIMEOUT_MS),
    requestTimeoutMs: e.ROTOR_DASHBOARD_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: e.ROTOR_DASHBOARD_KEEPALIVE_TIMEOUT_MS,
    maxConnections: e.ROTOR_DASHBOARD_MAX_CONNECTIONS,
    maxConnectionsPerClient: e.ROTOR_DASHBOARD_MAX_CONNECTIONS_PER_CLIENT,
    maxEventStreams: e.ROTOR_DASHBOARD_MAX_EVENT_STREAMS,
    maxEventStreamsPerClient: e.ROTOR_DASHBOARD_MAX_EVENT_STREAMS_PER_CLIENT,
    maxConcurrentRequests: e.ROTOR_DASHBOARD_MAX_CONCURRENT_REQUESTS,
    maxQueuedRequests: e.ROTOR_DASHBOARD_MAX_QUEUED_REQUESTS,
  };
}

export const DEFAULT_LIMITS: DashboardLimits = dashboardLimits({});

/** Counts what each client address holds, against a total and a per-address limit. */
export class PerClient {
  private readonly held = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly max: number,
    private readonly maxPerClient: number,
  ) {}

  /** 'total' or 'client' when full; otherwise takes a slot and returns its release (idempotent). */
  take(client: string): 'total' | 'client' | (() => void) {
    if (this.total >= this.max) return 'total';
    const mine = this.held.get(client) ?? 0;
    if (mine >= this.maxPerClient) return 'client';
    this.total++;
    this.held.set(client, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.held.get(client) ?? 1) - 1;
      if (left > 0) this.held.set(client, left);
      else this.held.delete(client);
    };
  }

  get open(): number {
    return this.total;
  }
}

const REFUSAL_BODY = 'rotor dashboard: too many connections; try again later\n';
const REFUSAL =
  'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 10\r\nCache-Control: no-store\r\n' +
  `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(REFUSAL_BODY)}\r\n\r\n${REFUSAL_BODY}`;

/**
 * Applies the timeouts and the connection limits to a Node HTTP server. A connection past a limit
 * is answered 503 and closed before the HTTP parser ever sees it (it costs one write, no request).
 */
export function limitConnections(server: Server, limits: DashboardLimits, refused: (limit: LimitName) => void): PerClient {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  const connections = new PerClient(limits.maxConnections, limits.maxConnectionsPerClient);
  // Node's HTTP server serves a socket from its 'connection' listener: wrap that listener.
  const serveHttp = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const slot = connections.take(socket.remoteAddress ?? 'unknown');
    if (typeof slot === 'string') {
      refused(slot === 'total' ? 'connections' : 'connections_per_client');
      socket.on('error', () => undefined);
      // Read and drop what the client sends, and free the descriptor when it closes or shortly
      // after the answer is out, whichever comes first: a client that never closes (or never
      // reads) must not keep it (the server allows half-open sockets: they would linger).
      socket.resume();
      socket.once('end', () => socket.destroy());
      socket.end(REFUSAL, () => setTimeout(() => socket.destroy(), 200).unref());
      return;
    }
    socket.once('close', slot);
    for (const listener of serveHttp) listener.call(server, socket);
  });
  return connections;
}

/**
 * At most `maxConcurrentRequests` requests run at once, `maxQueuedRequests` wait, the rest get 503.
 * Skips the paths in `except` (long-lived /events streams have their own limit).
 */
export function limitRequests(limits: DashboardLimits, except: readonly string[], refused: (limit: LimitName) => void): MiddlewareHandler {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (c, next) => {
    if (except.includes(c.req.path)) return next();
    if (running >= limits.maxConcurrentRequests) {
      if (waiting.length >= limits.maxQueuedRequests) {
        refused('requests');
        return c.text('rotor dashboard: too busy; try again later\n', 503, { 'Retry-After': '5', 'Cache-Control': 'no-store' });
      }
      await new Promise<void>((r) => waiting.push(r));
    } else {
      running++;
    }
    try {
      await next();
    } finally {
      // Hand the slot straight to the next waiter, or free it.
      const wake = waiting.shift();
      if (wake) wake();
      else running--;
    }
  };
}
