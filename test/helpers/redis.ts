// Redis for integration tests: the run's private server (shared, one prefix per test file) and
// servers of a test's own, for tests that kill, restart or reconfigure Redis.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { spawnRedisServer, type RedisServerHandle, type RedisServerOptions } from './redis-server.js';
import './provided.js';

export type { RedisServerHandle, RedisServerOptions } from './redis-server.js';

export interface PrivateRedisServer {
  host: string;
  port: number;
  /** `redis://host:port` */
  url: string;
}

export function privateRedis(): PrivateRedisServer {
  const facts = inject('rotorTestRedis');
  if (!facts) {
    throw new Error(
      'no private Redis: it is started by the integration project, so put this test under test/integration/ (or rotators/**/*.int.test.ts)',
    );
  }
  return { ...facts, url: `redis://${facts.host}:${facts.port}` };
}

/**
 * A BullMQ prefix no other call returns. No ':' inside (BullMQ joins keys with it); only
 * [a-z0-9_], starting with a letter, so it also works where a prefix becomes an SQL identifier.
 */
export function uniquePrefix(label = 'test'): string {
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 30);
  return `t_${slug}_${randomBytes(6).toString('hex')}`;
}

/** A redis-server of the test's own on a free port; `stop()` it in afterAll (the watchdog is the backstop). */
export function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServerHandle> {
  return spawnRedisServer(opts);
}
