// A process that starts a private PostgreSQL and redis-server, reports where, and waits to be
// killed: harness.test.ts SIGKILLs it to prove its servers do not outlive it.
import { startPrivatePostgres } from './postgres-server.js';
import { spawnRedisServer } from './redis-server.js';
import { scratchRoot } from './watchdog.js';

const [postgres, redis] = await Promise.all([startPrivatePostgres(), spawnRedisServer()]);
process.stdout.write(JSON.stringify({ root: scratchRoot(), postgresPort: postgres.facts.port, redisPort: redis.port }) + '\n');
setInterval(() => undefined, 60_000);
