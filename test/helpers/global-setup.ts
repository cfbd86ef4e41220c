// vitest globalSetup for the integration project: starts the private services once per run and
// hands their facts to test files through provide/inject.
import type { TestProject } from 'vitest/node';
import { startPrivatePostgres, startPrivateRedis, stopRedis, type PostgresFacts } from './services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: PostgresFacts;
    redisPort: number;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
  project.provide('postgres', pg.facts);
  project.provide('redisPort', redis.port);
  if (process.env.ROTOR_TEST_VERBOSE) console.log(`private services up in ${Date.now() - started} ms`);
  // If the run is interrupted, do not leave servers behind.
  const emergencyStop = () => {
    redis.child.kill('SIGKILL');
  };
  process.once('exit', emergencyStop);
  return async () => {
    process.removeListener('exit', emergencyStop);
    await Promise.allSettled([pg.stop(), stopRedis(redis)]);
  };
}
