// Freeze windows through the CLI: validate reports a bad freeze at file:line:col (exit 2), plan
// shows due times after a file's range freeze and a class's recurring one (and says which freeze
// moved each, until when), `rotor rotate` is refused during a freeze unless an emergency says
// --override-freeze (audited), and a scheduler tick defers a due frozen secret instead of starting it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTick } from '../../../src/engine/scheduler.js';
import { createLogger } from '../../../src/log.js';
import { nextDue } from '../../../src/policy/schedule.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { listAudit } from '../../../src/state/audit.js';
import { cliFixture, type CliFixture } from '../../helpers/cli-fixture.js';

const DAY = 86_400_000;
const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe('freeze windows', () => {
  let fx: CliFixture;
  let kit: QueueKit | undefined;
  const now = Date.now();
  // A range over the whole of today and the next 9 days (UTC), and a daily freeze that began at
  // the top of the previous hour and lasts 3h: both hold now.
  const rangeEnd = Date.parse(isoDate(now + 9 * DAY)) + DAY;
  const hour = (new Date(now).getUTCHours() + 23) % 24;
  const cronStart = Date.parse(new Date(now - 3_600_000).toISOString().slice(0, 13) + ':00:00Z');

  beforeAll(async () => {
    fx = await cliFixture('freezes', { env: { ROTOR_LOG_LEVEL: 'warn' } });
    await fx.write({
      'policies/frozen.yaml': `freezes:
  - { from: ${isoDate(now - DAY)}, to: ${isoDate(now + 9 * DAY)}, tz: UTC, reason: year-end }
secrets:
  - id: f/range
    rotator: random-secret
    cadence: 1d
    store: { backend: local }
`,
      'policies/classes.yaml': `classes:
  closing:
    cadence: 7d
    freezes:
      - cron: "0 ${hour} * * *"
        duration: 3h
        reason: daily close
secrets:
  - id: f/cron
    class: closing
    rotator: random-secret
    store: { backend: local }
  - id: f/free
    rotator: random-secret
    store: { backend: local }
`,
      'bad/bad.yaml': `freezes:
  - { from: 2026-12-20, to: 2026-12-01 }
secrets:
  - id: b/one
    rotator: random-secret
    store: { backend: local }
    freezes:
      - { cron: "0 0 * * *", duration: 2d }
`,
    });
    await fx.syncPolicies('policies', (s, last) => nextDue({ secret: s, lastSuccessAt: last, now: new Date() }));
  });

  afterAll(async () => {
    await kit?.close();
    await fx?.close();
  });

  const cli = (args: string[]) => fx.cli(args);

  it('validate reports a bad freeze where it is, exit 2', async () => {
    const r = await cli(['validate', 'bad']);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/bad[/\\]bad\.yaml:2:\d+.*ends \(2026-12-01\) before it starts/);
    expect(r.stdout + r.stderr).toMatch(/bad[/\\]bad\.yaml:8:\d+.*never ends/);
  });

  it('plan shows the next due time after the freezes, and which freeze moved it until when', async () => {
    const r = await cli(['plan', 'policies', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const text = r.stdout.slice(r.stdout.indexOf('['));
    const plan = JSON.parse(text) as Array<{ id: string; nextDue: string; frozen: unknown }>;
    const entry = (id: string) => plan.find((e) => e.id === id)!;
    const due = (id: string) => Date.parse(entry(id).nextDue);
    expect(due('f/range')).toBeGreaterThanOrEqual(rangeEnd);
    expect(due('f/range')).toBeLessThan(rangeEnd + 60_000);
    expect(due('f/cron')).toBeGreaterThanOrEqual(cronStart + 3 * 3_600_000);
    expect(due('f/free')).toBeLessThan(Date.now() + 60_000);
    expect(entry('f/range').frozen).toEqual({
      until: new Date(rangeEnd).toISOString(),
      freeze: `${isoDate(now - DAY)} to ${isoDate(now + 9 * DAY)} UTC`,
      reason: 'year-end',
    });
    expect(entry('f/cron').frozen).toEqual({
      until: new Date(cronStart + 3 * 3_600_000).toISOString(),
      freeze: `3h from "0 ${hour} * * *" UTC`,
      reason: 'daily close',
    });
    expect(entry('f/free').frozen).toBeNull();

    // The table says it where an operator looks for why a secret is later than its cadence.
    const table = await cli(['plan', 'policies']);
    expect(table.code, table.stderr).toBe(0);
    const row = (id: string) => table.stdout.split('\n').find((l) => l.startsWith(`${id} `)) ?? '';
    const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
    expect(row('f/range')).toMatch(new RegExp(`(  |; )frozen until ${minute(rangeEnd)} \\(freeze year-end\\)$`));
    expect(row('f/cron')).toMatch(new RegExp(`(  |; )frozen until ${minute(cronStart + 3 * 3_600_000)} \\(freeze daily close\\)$`));
    expect(row('f/free')).not.toContain('frozen');
  });

  it('rotate is refused during a freeze; an emergency overrides it only with --override-freeze, audited', async () => {
    const manual = await cli(['rotate', 'f/range']);
    expect(manual.code).toBe(2);
    expect(manual.stderr).toContain(`f/range is frozen until ${new Date(rangeEnd).toISOString()} (year-end:`);
    const emergency = await cli(['rotate', 'f/cron', '--emergency', '--reason', 'leak', '--yes']);
    expect(emergency.code).toBe(2);
    expect(emergency.stderr).toMatch(/f\/cron is frozen until .*daily close.*\n.*--override-freeze/);
    expect(await fx.db.pool.query('select 1 from runs')).toHaveProperty('rowCount', 0);
    const notEmergency = await cli(['rotate', 'f/cron', '--override-freeze']);
    expect(notEmergency.code).toBe(2);

    const ok = await cli(['rotate', 'f/cron', '--emergency', '--reason', 'leak', '--yes', '--override-freeze', '--actor', 'alice']);
    expect(ok.code, ok.stderr).toBe(0);
    const [row] = await listAudit(fx.db.pool, { secretId: 'f/cron', actionPrefix: 'run.freeze-overridden' });
    expect(row).toMatchObject({
      actor: 'alice',
      reason: 'leak',
      detail: { freeze: `3h from "0 ${hour} * * *" UTC`, freezeReason: 'daily close' },
    });
    expect(row!.runId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("an incident's plan says how many of its secrets are frozen, and what --override-freeze changes", async () => {
    await fx.write({ 'ids.txt': 'f/range\nf/cron\nf/free\n' });
    const args = ['incident', 'start', '--reason', 'drill', '--ids', 'ids.txt', '--dry-run'];
    const plain = await cli(args);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toContain(
      'frozen:      2 of the 3 secrets are inside a freeze window now: not started (listed as needs attention); add --override-freeze to rotate them too',
    );
    const overriding = await cli([...args, '--override-freeze']);
    expect(overriding.code, overriding.stderr).toBe(0);
    expect(overriding.stderr).toContain(
      'frozen:      2 of the 3 secrets are inside a freeze window now: started anyway (--override-freeze',
    );
    await fx.write({ 'one.txt': 'f/range\n', 'free.txt': 'f/free\n' });
    const one = await cli(['incident', 'start', '--reason', 'drill', '--ids', 'one.txt', '--dry-run']);
    expect(one.stderr).toContain(
      'frozen:      the secret is inside a freeze window now: not started (listed as needs attention); add --override-freeze to rotate it too',
    );
    const free = await cli(['incident', 'start', '--reason', 'drill', '--ids', 'free.txt', '--dry-run']);
    expect(free.stderr).toContain('Incident plan: 1 secret on 1 target');
    expect(free.stderr).not.toContain('frozen:');
    expect(await fx.db.pool.query('select 1 from incidents')).toHaveProperty('rowCount', 0);
  });

  it('a scheduler tick defers a due frozen secret past its freeze and starts the others', async () => {
    await fx.db.pool.query(`update secrets set next_due_at = now() - interval '1 minute' where id in ('f/range', 'f/free')`);
    kit = await createQueueKit({ kind: 'postgres', url: fx.db.url, schema: 'freeze_q' }, createLogger({ level: 'silent' }));
    const tick = await runTick(fx.db.pool, kit, createLogger({ level: 'silent' }), new Date());
    expect(tick.frozen).toEqual(['f/range']);
    expect(tick.started).toEqual(['f/free']);
    const row = await fx.db.pool.query<{ next_due_at: Date }>(`select next_due_at from secrets where id = 'f/range'`);
    expect(row.rows[0]!.next_due_at.getTime()).toBeGreaterThanOrEqual(rangeEnd);
    expect(await fx.db.pool.query(`select 1 from runs where secret_id = 'f/range'`)).toHaveProperty('rowCount', 0);
  });
});
