// A hostile client for the dashboard, loopback only and bounded: holds half-open connections
// (request headers never finished) and /events streams, opening a new one whenever the server
// closes one, until stopped. The dashboard load test and `npm run bench -- hostile` use it.
import { request, type ClientRequest } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface FloodOptions {
  /** The dashboard's http://127.0.0.1:port. */
  url: string;
  halfOpen: number;
  streams: number;
  /** Loopback source addresses the connections come from, in turn (Linux routes all of 127/8). */
  sources: readonly string[];
}

export interface FloodStats {
  /** Connections opened, in all. */
  opened: number;
  /** Answers 503 (connection or stream limits). */
  refused503: number;
  /** /events streams that got their first event. */
  streamsOpen: number;
  /** Sockets and requests held right now. */
  held(): number;
}

export interface Flood {
  stats: FloodStats;
  stop(): Promise<void>;
}

export function startFlood(opts: FloodOptions): Flood {
  const { hostname, port: portText } = new URL(opts.url);
  const port = Number(portText);
  if (hostname !== '127.0.0.1' && hostname !== 'localhost') throw new Error(`the flood runs against loopback only, not ${hostname}`);
  let stopped = false;
  let n = 0;
  const sockets = new Set<Socket>();
  const requests = new Set<ClientRequest>();
  const stats: FloodStats = { opened: 0, refused503: 0, streamsOpen: 0, held: () => sockets.size + requests.size };
  const source = () => opts.sources[n++ % opts.sources.length]!;

  const halfOpen = () => {
    if (stopped) return;
    stats.opened++;
    const s = connect({ host: '127.0.0.1', port, localAddress: source() });
    sockets.add(s);
    s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '));
    s.on('data', (d: Buffer) => {
      if (d.toString('latin1').startsWith('HTTP/1.1 503')) stats.refused503++;
    });
    s.on('error', () => undefined);
    // The server closed it (a limit, or the header timeout): come back, as an attacker would,
    // after a pause so a refused connection does not spin.
    s.on('close', () => {
      sockets.delete(s);
      if (!stopped) setTimeout(halfOpen, 1_000).unref();
    });
  };

  const stream = () => {
    if (stopped) return;
    stats.opened++;
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/events',
      localAddress: source(),
      agent: false,
      headers: { host: `127.0.0.1:${port}` },
    });
    requests.add(req);
    let counted = false;
    req.on('response', (res) => {
      if (res.statusCode === 503) stats.refused503++;
      res.on('data', () => {
        if (!counted && res.statusCode === 200) {
          counted = true;
          stats.streamsOpen++;
        }
      });
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    req.on('close', () => {
      requests.delete(req);
      if (counted) stats.streamsOpen--;
      if (!stopped) setTimeout(stream, 1_000).unref();
    });
    req.end();
  };

  for (let i = 0; i < opts.halfOpen; i++) halfOpen();
  for (let i = 0; i < opts.streams; i++) stream();

  return {
    stats,
    async stop() {
      stopped = true;
      for (const s of sockets) s.destroy();
      for (const r of requests) r.destroy();
      const deadline = Date.now() + 5_000;
      while (stats.held() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    },
  };
}

/** Open file descriptors of this process (Linux). */
export async function openFiles(): Promise<number> {
  const { readdir } = await import('node:fs/promises');
  return (await readdir('/proc/self/fd')).length;
}
