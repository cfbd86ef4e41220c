// `rotor attest <id> --reason TEXT --value-stdin` through the CLI: a person hands over a manual
// secret's new value on stdin; it becomes CURRENT through a run like any other (trigger attest),
// its consumers get it and confirm, the audit trail says who and why without the value, and a
// consumer that refuses it rolls the run back to the value before. Bad input exits 2 and changes
// nothing. A worker runs in this process, on Redis, as `rotor start` would.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attestedVersionId } from '../../../src/engine/attest.js';
import { createLogger } from '../../../src/log.js';
import { nextDue } from '../../../src/policy/schedule.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { trackSecret } from '../../../src/redact.js';
import { loadRotators } from '../../../src/rotator/catalogue.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { listAudit } from '../../../src/state/audit.js';
import { listRuns } from '../../../src/state/runs.js';
import { getSecret } from '../../../src/state/secrets.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { cliFixture, type CliFixture } from '../../helpers/cli-fixture.js';
import { findLeaksInDatabase, findLeaksInRedis, redisKeysWithContent } from '../../helpers/leak-scan.js';
import { privateRedis } from '../../helpers/redis.js';

/** A Redis database of this file's own on the shared server: the CLI uses BullMQ's default prefix. */
const REDIS_DB = 9;

describe('rotor attest --value-stdin', () => {
  let fx: CliFixture;
  let kit: QueueKit;
  let runtime: Runtime;
  let store: SecretStore;
  let redisUrl: string;
  const key = randomBytes(32);
  const workerLog: string[] = [];
  /** Every value handed over, for the leak scans at the end. */
  const values: string[] = [];

  beforeAll(async () => {
    redisUrl = `${privateRedis().url}/${REDIS_DB}`;
    fx = await cliFixture('attest', {
      env: { ROTOR_REDIS_URL: redisUrl, ROTOR_MASTER_KEY: key.toString('base64'), ROTOR_LOG_LEVEL: 'debug' },
    });
    await fx.write({
      'policies/partners.yaml': `secrets:
  - id: p/portal
    owner: partners-team
    rotator: manual
    cadence: 30d
    grace: 0s
    target: { url: "https://partner.example/keys" }
    consumers:
      - { name: app, type: env-file, path: "${join(fx.dir, 'portal.env')}", key: ACME }
  - id: p/pair
    rotator: manual
    cadence: 30d
    grace: 0s
    retry: { attempts: 1 }
    target: { fields: [keyId, secret] }
    consumers:
      - { name: file, type: env-file, path: "${join(fx.dir, 'pair.env')}" }
      # Takes any value but one with "reject" in it, as an application whose health check fails.
      - { name: picky, type: command, run: /bin/sh, args: ['-c', 'case "$(cat)" in *reject*) exit 3;; esac'], passValue: true }
  - id: p/frozen
    rotator: manual
    cadence: 30d
    freezes: [{ from: 2020-01-01, to: 2099-12-31, reason: test freeze }]
  - id: r/key
    rotator: random-secret
    cadence: 30d
`,
    });
    await fx.syncPolicies('policies', () => new Date(Date.now() + 86_400_000));
    kit = await createQueueKit({ kind: 'redis', url: redisUrl }, createLogger({ level: 'silent' }));
    await loadRotators(['manual', 'random-secret']);
    store = createLocalStore({ pool: fx.db.pool, key });
    runtime = await startRuntime({
      pool: fx.db.pool,
      kit,
      log: createLogger({ level: 'debug', destination: { write: (line: string) => void workerLog.push(line) } }),
      stores: { local: store },
      resolveRef: async () => '',
      nextDue: (secret, last) => nextDue({ secret, lastSuccessAt: last, now: last }),
      pollMs: 50,
      leaseMs: 5_000,
      lockMs: 5_000,
      stalledMs: 5_000,
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await kit?.close();
    if (redisUrl) {
      const r = new Redis(redisUrl);
      await r.flushdb();
      r.disconnect();
    }
    await fx?.close();
  });

  const cli = (args: string[], stdin?: string) => fx.cli(args, stdin);

  /** A value as a portal might issue it, tracked for the leak scans (the database's at drop, too). */
  const issued = (prefix: string): string => {
    const v = `${prefix}_${randomBytes(12).toString('hex')}`;
    trackSecret(v);
    values.push(v);
    return v;
  };

  const statusOf = async (id: string): Promise<string> => {
    const r = await cli(['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as Array<{ id: string; status: string }>).find((s) => s.id === id)!.status;
  };

  it('refuses bad input with exit 2 and changes nothing', async () => {
    const leaked = issued('sk_live');
    const attest = (id: string, ...more: string[]) => ['attest', id, '--reason', 'portal', '--value-stdin', ...more];
    // The layouts' other refusals are unit tests (test/unit/rotators/manual-value.test.ts).
    const cases: Array<{ args: string[]; stdin?: string; says: string }> = [
      { args: attest('p/portal'), stdin: '\n', says: 'stdin is empty: the new value of p/portal was expected there' },
      { args: attest('p/pair'), stdin: `${leaked}\n`, says: 'stdin is not a JSON object: p/pair declares the fields keyId, secret' },
      { args: attest('r/key'), stdin: leaked, says: 'r/key is rotated by rotor (rotator: random-secret), not by a person' },
      { args: attest('p/frozen'), stdin: leaked, says: 'p/frozen is frozen until 2100-01-01' },
      { args: ['attest', 'p/portal', '--reason', 'portal', '--wait'], says: '--wait is only for attest --value-stdin' },
    ];
    const results = await Promise.all(cases.map((c) => cli(c.args, c.stdin)));
    results.forEach((r, i) => {
      expect(r.code, `${cases[i]!.args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(cases[i]!.says);
      expect(r.stdout + r.stderr).not.toContain(leaked);
    });
    expect((await fx.db.pool.query('select 1 from runs')).rowCount).toBe(0);
    expect((await fx.db.pool.query('select 1 from store_versions')).rowCount).toBe(0);
    expect(await listAudit(fx.db.pool, { actionPrefix: 'run.' })).toEqual([]);
    expect(await listAudit(fx.db.pool, { actionPrefix: 'secret.attested' })).toEqual([]);
  });

  it('stores the value as CURRENT, tells the consumers and records who and why, never the value', async () => {
    const value = issued('sk_live');
    const before = Date.now();
    const r = await cli(
      ['attest', 'p/portal', '--reason', 'new key issued in the portal', '--actor', 'alice', '--value-stdin', '--wait'],
      `${value}\n`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^run \S+ started for p\/portal \(attested: the new value goes to 1 consumer\)$/m);
    expect(r.stdout).toContain(': done (rotated)');
    expect(r.stdout + r.stderr).not.toContain(value);

    const [run] = await listRuns(fx.db.pool, 'p/portal');
    expect(run).toMatchObject({
      trigger: 'attest',
      actor: 'alice',
      reason: 'new key issued in the portal',
      state: 'done',
      outcome: 'rotated',
    });
    const version = attestedVersionId(run!.id);
    // One trailing newline (what echo and text files end with) is not part of the key.
    expect(await store.get('p/portal', 'CURRENT')).toEqual({ versionId: version, value: { value } });
    const env = await readFile(join(fx.dir, 'portal.env'), 'utf8');
    expect(env).toContain(`# rotor-version: ${version}\n`);
    expect(env).toContain(`ACME_VALUE='${value}'\n`);
    expect((await fx.db.pool.query('select confirmed_version from run_consumers where run_id = $1', [run!.id])).rows).toEqual([
      { confirmed_version: version },
    ]);

    const audit = await listAudit(fx.db.pool, { runId: run!.id, oldestFirst: true });
    expect(audit[0]).toMatchObject({
      action: 'run.requested',
      actor: 'alice',
      reason: 'new key issued in the portal',
      detail: { trigger: 'attest' },
    });
    expect(audit.at(-1)).toMatchObject({ action: 'run.done' });
    expect(JSON.stringify(audit)).not.toContain(value);
    // The clock reset as after any rotation.
    const secret = (await getSecret(fx.db.pool, 'p/portal'))!;
    expect(secret.lastSuccessAt!.getTime()).toBeGreaterThanOrEqual(before);
    expect(secret.nextDueAt!.getTime() - secret.lastSuccessAt!.getTime()).toBe(30 * 86_400_000);
    expect(await statusOf('p/portal')).toBe('healthy');
  });

  it('reads several fields from a JSON object; a consumer that refuses the new value rolls the run back', async () => {
    const first = { keyId: 'AKID-1', secret: issued('s1') };
    const ok = await cli(['attest', 'p/pair', '--reason', 'first key', '--value-stdin', '--wait'], JSON.stringify(first));
    expect(ok.code, ok.stderr).toBe(0);
    const v1 = (await store.get('p/pair', 'CURRENT'))!;
    expect(v1.value).toEqual(first);
    expect(await readFile(join(fx.dir, 'pair.env'), 'utf8')).toContain(`KEYID='AKID-1'\nSECRET='${first.secret}'\n`);

    const again = await cli(['attest', 'p/pair', '--reason', 'same key', '--value-stdin'], JSON.stringify(first));
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`the value on stdin is already p/pair's CURRENT version (${v1.versionId}); nothing was changed`);

    const refused = { keyId: 'AKID-2', secret: issued('reject') };
    const r = await cli(['attest', 'p/pair', '--reason', 'second key', '--value-stdin', '--wait', '--json'], JSON.stringify(refused));
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toContain('needs attention: distribute failed after 1 attempts: command /bin/sh exited with code 3');
    const end = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { id: string; event: string; state: string; outcome: string };
    expect(end).toMatchObject({ event: 'end', state: 'needs-attention', outcome: 'rolled-back', trigger: 'attest' });
    expect(r.stdout + r.stderr).not.toContain(refused.secret);
    // The value before is CURRENT again and the consumers were told again; the refused one holds no stage.
    expect(await store.get('p/pair', 'CURRENT')).toEqual(v1);
    expect(await readFile(join(fx.dir, 'pair.env'), 'utf8')).toContain(`# rotor-version: ${v1.versionId}\nKEYID='AKID-1'\n`);
    expect((await store.describe('p/pair')).find((v) => v.versionId === attestedVersionId(end.id))?.stages ?? []).toEqual([]);
    expect(await statusOf('p/pair')).toBe('needs-attention');
  });

  it('leaves no value in Redis, the state database or the worker log', async () => {
    expect(values.length).toBe(4);
    // The runs' jobs went through this Redis: there is something to scan.
    const keys: string[] = [];
    for await (const { key } of redisKeysWithContent(redisUrl)) keys.push(key);
    expect(keys.filter((k) => k.startsWith('rotor:rotor-runs:')).length).toBeGreaterThan(0);
    expect(await findLeaksInRedis(redisUrl, values)).toEqual([]);
    expect(await findLeaksInDatabase(fx.db.pool, values)).toEqual([]);
    // The worker's log as an operator reads it (debug level, after rotor's redaction).
    expect(workerLog.length).toBeGreaterThan(0);
    expect(workerLog.filter((line) => values.some((v) => line.includes(v)))).toEqual([]);
  });
});
