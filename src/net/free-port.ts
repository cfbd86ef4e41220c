// Free TCP ports on loopback, found by letting the kernel pick one.
import { createServer } from 'node:net';

/**
 * A port nothing listens on right now. The port is released before it is returned, so another
 * process could take it first: callers that bind it retry with a fresh port when that happens.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port assigned'))));
    });
  });
}
