// What a secret resolves to: class fields under its overrides, defaults for the rest, parameters
// with their schemas' defaults, and a hash that ignores key order and position.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPolicies } from '../../../src/policy/load.js';

const dirs: string[] = [];
async function policy(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rotor-policy-test-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function only(files: Record<string, string>) {
  const result = await loadPolicies(await policy(files));
  expect(result.problems).toEqual([]);
  expect(result.secrets).toHaveLength(1);
  return result.secrets[0]!;
}

describe('resolving a secret', () => {
  it('fills in every default for a secret that says only id and rotator', async () => {
    const s = await only({ 'a.yaml': 'secrets:\n  - { id: team/key, rotator: random-secret }\n' });
    expect(s).toMatchObject({
      id: 'team/key',
      owner: undefined,
      className: undefined,
      tags: [],
      schedule: { kind: 'interval', ms: 90 * 86_400_000, text: '90d' },
      graceMs: 3_600_000,
      emergencyGraceMs: 300_000,
      jitterMs: 0,
      window: undefined,
      retry: { attempts: 5, backoffMs: 5_000, maxBackoffMs: 300_000 },
      drain: { mode: 'wait', timeoutMs: 1_800_000 },
      rotator: { name: 'random-secret', params: { generate: { length: 32, alphabet: 'alnum', encoding: 'plain' } } },
      store: { backend: 'local', location: 'team/key', params: {} },
      consumers: [],
    });
  });

  it('caps the default grace at half a short cadence, and emergency grace at the grace', async () => {
    const s = await only({ 'a.yaml': 'secrets:\n  - { id: team/key, rotator: random-secret, cadence: 2m }\n' });
    expect([s.graceMs, s.emergencyGraceMs]).toEqual([60_000, 60_000]);
  });

  it('layers secret overrides over its class, field by field for retry and drain', async () => {
    const s = await only({
      'classes.yaml':
        'classes:\n  c: { cadence: 30d, grace: 1h, retry: { attempts: 3, backoff: 10s }, drain: { mode: terminate }, window: { hours: "01:00-02:00", tz: Europe/Paris } }\n',
      'a.yaml': 'secrets:\n  - { id: team/key, class: c, rotator: random-secret, grace: 2h, retry: { maxBackoff: 1m } }\n',
    });
    expect(s.className).toBe('c');
    expect(s.schedule).toEqual({ kind: 'interval', ms: 30 * 86_400_000, text: '30d' });
    expect(s.graceMs).toBe(7_200_000);
    expect(s.retry).toEqual({ attempts: 3, backoffMs: 10_000, maxBackoffMs: 60_000 });
    expect(s.drain).toEqual({ mode: 'terminate', timeoutMs: 1_800_000 });
    expect(s.window).toMatchObject({
      startMinute: 60,
      endMinute: 120,
      tz: 'Europe/Paris',
      days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
    });
  });

  it('gives a cron cadence without tz the time zone of the window', async () => {
    const s = await only({
      'a.yaml': 'secrets:\n  - { id: team/key, rotator: random-secret, cadence: { cron: "0 3 * * 1" }, window: { tz: Asia/Tokyo } }\n',
    });
    expect(s.schedule).toEqual({ kind: 'cron', expression: '0 3 * * 1', tz: 'Asia/Tokyo' });
  });

  it('names consumers by type and position unless named, with waves and timeouts', async () => {
    const s = await only({
      'a.yaml': `secrets:
  - id: team/key
    rotator: random-secret
    confirmTimeout: 2m
    consumers:
      - { type: env-file, path: x.env }
      - { type: webhook, name: api, wave: 2, url: https://api.internal/r, secret: env:K, cacheTtl: 5m, confirmTimeout: 30s }
`,
    });
    expect(s.consumers).toEqual([
      {
        name: 'env-file-1',
        type: 'env-file',
        wave: 1,
        cacheTtlMs: undefined,
        confirmTimeoutMs: 120_000,
        params: { path: 'x.env', format: 'env' },
      },
      {
        name: 'api',
        type: 'webhook',
        wave: 2,
        cacheTtlMs: 300_000,
        confirmTimeoutMs: 30_000,
        params: { url: 'https://api.internal/r', secret: 'env:K', timeout: '10s' },
      },
    ]);
  });

  it('keeps the location of the secret and the store location of each backend', async () => {
    const s = await only({
      'a.yaml':
        '# comment\nsecrets:\n  - id: team/key\n    rotator: random-secret\n    store: { backend: aws-secrets-manager, secretId: prod/key }\n',
    });
    expect(s.source).toMatchObject({ line: 3, col: 5 });
    expect(s.store).toEqual({ backend: 'aws-secrets-manager', location: 'prod/key', params: { secretId: 'prod/key' } });
  });

  it('hashes the policy the same whatever the key order or position, and differently when it changes', async () => {
    const a = await only({ 'a.yaml': 'secrets:\n  - { id: team/key, rotator: random-secret, generate: { length: 40, alphabet: hex } }\n' });
    const b = await only({
      'b.yaml': '\n\nsecrets:\n  - generate: { alphabet: hex, length: 40 }\n    rotator: random-secret\n    id: team/key\n',
    });
    const c = await only({ 'c.yaml': 'secrets:\n  - { id: team/key, rotator: random-secret, generate: { length: 41, alphabet: hex } }\n' });
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.hash).toBe(a.hash);
    expect(c.hash).not.toBe(a.hash);
    expect((JSON.parse(JSON.stringify(a)) as { hash: string }).hash).toBe(a.hash);
  });
});
