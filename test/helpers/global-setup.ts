// vitest globalSetup of the integration project: one private PostgreSQL and one private redis-server
// per `vitest run`, started in parallel, handed to test files through provide/inject, and torn down
// at the end. If the run is killed instead, the scratch dir's watchdog stops both (see watchdog.ts).
import type { TestProject } from 'vitest/node';
import { startPrivatePostgres, type PrivatePostgres } from './postgres-server.js';
import { spawnRedisServer, type RedisServerHandle } from './redis-server.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findLeaksInRedis } from './leak-scan.js';
import './provided.js';

let postgres: PrivatePostgres | undefined;
let leakDir: string | undefined;
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
  leakDir = mkdtempSync(join(tmpdir(), 'rotor-test-leaks-'));
  project.provide('rotorTestLeakDir', leakDir);
  const ms = Math.round(performance.now() - started);
  console.log(
    `[harness] private PostgreSQL on 127.0.0.1:${pg.value.facts.port}, redis-server on 127.0.0.1:${rd.value.port}, up in ${ms} ms`,
  );
}

export async function teardown(): Promise<void> {
  const leaks = redis && leakDir ? await scanRedisForTrackedValues(redis.url, leakDir) : [];
  await Promise.allSettled([postgres?.stop(), redis?.stop()]);
  if (leakDir) rmSync(leakDir, { recursive: true, force: true });
  if (leaks.length) {
    // vitest reports an error thrown from teardown but still exits 0 (and resets exitCode); the
    // summary is already printed and the servers are stopped, so failing the run means exiting here.
    console.error(`[harness] FAILED: secret values were found in Redis after the suite, in keys: ${leaks.slice(0, 10).join(', ')}`);
    process.exit(1);
  }
  postgres = undefined;
  redis = undefined;
}

/** Every value any test file tracked, looked for in every key of the shared Redis. */
async function scanRedisForTrackedValues(url: string, dir: string): Promise<string[]> {
  const values = new Set<string>();
  for (const f of readdirSync(dir)) for (const v of JSON.parse(readFileSync(join(dir, f), 'utf8')) as string[]) values.add(v);
  const leaks = await findLeaksInRedis(url, [...values]);
  console.log(`[harness] leak scan: ${values.size} secret values looked for in every Redis key; ${leaks.length} found`);
  return leaks;
}
