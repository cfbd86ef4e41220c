import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, privatePostgres, type TestDatabase } from '../helpers/postgres.js';
import { privateRedis, startRedisServer } from '../helpers/redis.js';

describe('the hermetic test harness', () => {
  let a: TestDatabase;
  let b: TestDatabase;
  beforeAll(async () => {
    [a, b] = await Promise.all([createTestDatabase('harness_a'), createTestDatabase('harness_b')]);
  });
  afterAll(async () => {
    await Promise.all([a?.drop(), b?.drop()]);
  });

  it('runs a private PostgreSQL that refuses a wrong password (scram-sha-256)', async () => {
    const server = privatePostgres();
    expect(server.port).not.toBe(5432);
    const wrong = new pg.Client({ host: server.host, port: server.port, user: server.user, password: 'wrong', database: 'postgres' });
    await expect(wrong.connect()).rejects.toMatchObject({ code: '28P01' });
    const method = await a.pool.query("select setting from pg_settings where name = 'password_encryption'");
    expect(method.rows[0].setting).toBe('scram-sha-256');
  });

  it('gives each caller its own database', async () => {
    await a.pool.query('create table only_in_a (x int)');
    const inB = await b.pool.query("select to_regclass('only_in_a') as t");
    expect(inB.rows[0].t).toBeNull();
  });

  it('runs a private Redis, and servers a test can kill and restart', async () => {
    const { port, url } = privateRedis();
    expect(port).not.toBe(6379);
    const shared = new Redis(url);
    expect(await shared.ping()).toBe('PONG');
    shared.disconnect();
    const own = await startRedisServer();
    const client = new Redis(own.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    client.on('error', () => undefined);
    await client.connect();
    await own.kill();
    await expect(client.ping()).rejects.toThrow();
    await own.restart();
    const again = new Redis(own.url);
    expect(await again.ping()).toBe('PONG');
    again.disconnect();
    client.disconnect();
    await own.stop();
  });
});
