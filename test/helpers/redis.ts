// The private Redis server, per-file queue prefixes, and servers of a test's own (to kill or restart).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { freePort } from './ports.js';
import { spawnRedis } from './services.js';

export function privateRedis() {
  const port = inject('redisPort');
  return { host: '127.0.0.1', port, url: `redis://127.0.0.1:${port}` };
}

/** A BullMQ prefix no other test uses (no ':' inside). */
export function uniquePrefix(label = 't'): string {
  return `${label.replace(/[^a-z0-9-]/gi, '')}-${randomUUID().slice(0, 8)}`;
}

export interface RedisServerHandle {
  port: number;
  url: string;
  stop(): Promise<void>;
  kill(): Promise<void>;
  restart(): Promise<void>;
}

export async function startRedisServer(opts: { args?: string[] } = {}): Promise<RedisServerHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-test-redis-own-'));
  const port = await freePort();
  let child = await spawnRedis(port, dir, opts.args);
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: () => end('SIGKILL'),
    async restart() {
      await end('SIGKILL');
      child = await spawnRedis(port, dir, opts.args);
    },
    async stop() {
      await end('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
