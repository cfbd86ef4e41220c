// Manual secrets (rotator: manual) through the CLI: the scheduler starts no run for them but marks
// them overdue, `rotor rotate` refuses them, and `rotor attest` records a person's rotation
// (audited), after which status shows them healthy like any other secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTick } from '../../../src/engine/scheduler.js';
import { createLogger } from '../../../src/log.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { listAudit } from '../../../src/state/audit.js';
import { cliFixture, type CliFixture } from '../../helpers/cli-fixture.js';

describe('manual secrets', () => {
  let fx: CliFixture;
  let kit: QueueKit | undefined;

  beforeAll(async () => {
    fx = await cliFixture('manual', { env: { ROTOR_LOG_LEVEL: 'warn' } });
    await fx.write({
      'policies/partners.yaml': `secrets:
  - id: m/portal
    owner: partners-team
    rotator: manual
    cadence: 30d
    target: { url: "https://partner.example/keys", instructions: Regenerate the API key }
  - id: r/key
    rotator: random-secret
    cadence: 30d
    store: { backend: local }
`,
    });
    // Both due two hours ago: past the default overdue tolerance (1h).
    await fx.syncPolicies('policies', () => new Date(Date.now() - 2 * 3_600_000));
  });

  afterAll(async () => {
    await kit?.close();
    await fx?.close();
  });

  const cli = (args: string[]) => fx.cli(args);

  const statusOf = async (id: string): Promise<string> => {
    const r = await cli(['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as Array<{ id: string; status: string }>).find((s) => s.id === id)!.status;
  };

  it('the scheduler starts no run for a manual secret, but marks it overdue; rotate refuses it', async () => {
    kit = await createQueueKit({ kind: 'postgres', url: fx.db.url, schema: 'manual_q' }, createLogger({ level: 'silent' }));
    const tick = await runTick(fx.db.pool, kit, createLogger({ level: 'silent' }), new Date());
    expect(tick.started).toEqual(['r/key']);
    expect(tick.overdue.sort()).toEqual(['m/portal', 'r/key']);
    expect(await fx.db.pool.query(`select 1 from runs where secret_id = 'm/portal'`)).toHaveProperty('rowCount', 0);
    expect(await statusOf('m/portal')).toBe('overdue');

    for (const args of [
      ['rotate', 'm/portal'],
      ['rotate', 'm/portal', '--emergency', '--reason', 'leak', '--yes'],
    ]) {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('m/portal is rotated by a person (rotator: manual)');
      expect(r.stderr).toContain('rotor attest m/portal --reason');
    }
    expect(await fx.db.pool.query(`select 1 from runs where secret_id = 'm/portal'`)).toHaveProperty('rowCount', 0);
  });

  it('attest records the rotation, audited, and the secret is healthy again; wrong uses exit 2 or 3', async () => {
    expect((await cli(['attest', 'm/portal'])).code).toBe(2);
    expect((await cli(['attest', 'm/portal', '--reason', '  '])).code).toBe(2);
    const notManual = await cli(['attest', 'r/key', '--reason', 'x']);
    expect(notManual.code).toBe(2);
    expect(notManual.stderr).toContain('r/key is rotated by rotor');
    expect((await cli(['attest', 'no/such', '--reason', 'x'])).code).toBe(3);
    expect(await listAudit(fx.db.pool, { actionPrefix: 'secret.attested' })).toEqual([]);

    const before = Date.now();
    const r = await cli(['attest', 'm/portal', '--reason', 'new key issued in the portal', '--actor', 'bob', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const said = JSON.parse(r.stdout) as { attestedAt: string; nextDueAt: string };
    expect(Date.parse(said.nextDueAt) - Date.parse(said.attestedAt)).toBe(30 * 86_400_000);
    expect(Date.parse(said.attestedAt)).toBeGreaterThanOrEqual(before - 1000);
    const [row] = await listAudit(fx.db.pool, { secretId: 'm/portal', actionPrefix: 'secret.attested' });
    expect(row).toMatchObject({ actor: 'bob', reason: 'new key issued in the portal', detail: { nextDueAt: said.nextDueAt } });
    expect(await statusOf('m/portal')).toBe('healthy');
    expect((await cli(['audit', 'verify'])).code).toBe(0);
  });
});
