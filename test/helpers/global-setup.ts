// vitest globalSetup of the integration project: one private PostgreSQL and one private redis-server
// per `vitest run`, started in parallel, handed to test files through provide/inject, and torn down
// at the end. If the run is killed instead, the scratch dir's watchdog stops both (see watchdog.ts).
import type { TestProject } from 'vitest/node';
import { startPrivatePostgres, type PrivatePostgres } from './postgres-server.js';
import { spawnRedisServer, type RedisServerHandle } from './redis-server.js';
import './provided.js';

let postgres: PrivatePostgres | undefined;
let redis: RedisServerHandle | undefined;

export async function setup(project: TestProject): Promise<void> {
  const started = performance.now();
  const [pg, rd] = await Promise.allSettled([startPrivatePostgres(), spawnRedisServer()]);
  postgres = pg.status === 'fulfilled' ? pg.value : undefined;
  redis = rd.status === 'fulfilled' ? rd.value : undefined;
  if (pg.status === 'rejected' || rd.status === 'rejected') {
    // vitest skips teardown when setup throws: stop whichever one did start.
    await teardown();
    throw pg.status === 'rejected' ? pg.reason : (rd as PromiseRejectedResult).reason;
  }
  project.provide('rotorTestPostgres', pg.value.facts);
  project.provide('rotorTestRedis', { host: '127.0.0.1', port: rd.value.port });
  const ms = Math.round(performance.now() - started);
  console.log(`[harness] private PostgreSQL on 127.0.0.1:${pg.value.facts.port}, redis-server on 127.0.0.1:${rd.value.port}, up in ${ms} ms`);
}

export async function teardown(): Promise<void> {
  await Promise.allSettled([postgres?.stop(), redis?.stop()]);
  postgres = undefined;
  redis = undefined;
}
