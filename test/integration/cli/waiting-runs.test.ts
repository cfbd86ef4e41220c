// A run staggered behind another on the same target says what it waits for and until when, in
// `rotor status`, `rotor status <id>`, `rotor history` and their --json.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRun, type RunRow } from '../../../src/state/runs.js';
import { cliFixture, type CliFixture } from '../../helpers/cli-fixture.js';
import { secretFixture } from '../engine/fixtures.js';

describe('a staggered run in the CLI', () => {
  let fx: CliFixture;
  let first: RunRow;
  let second: RunRow;

  beforeAll(async () => {
    fx = await cliFixture('waiting');
    await fx.sync([secretFixture('db/app'), secretFixture('db/reports')], {
      targetKeyOf: () => 'postgres://db.internal:5432',
      nextDueOf: () => new Date(Date.now() - 60_000),
    });
    first = await createRun(fx.db.pool, { secretId: 'db/app', trigger: 'schedule', actor: 'scheduler' });
    second = await createRun(fx.db.pool, {
      secretId: 'db/reports',
      trigger: 'schedule',
      actor: 'scheduler',
      notBefore: new Date(Date.now() + 10 * 60_000),
    });
  });

  afterAll(() => fx?.close());

  async function cli(args: string[]): Promise<string> {
    const r = await fx.cli(args);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  }

  it('names the run it waits behind and when it starts', async () => {
    const said = new RegExp(
      `waits until \\S+ \\(in (9m \\d+s|10m)\\) for run ${first.id.slice(0, 8)} \\(db/app, queued\\) on the same target`,
    );
    const [table, one, history] = await Promise.all([cli(['status']), cli(['status', 'db/reports']), cli(['history', 'db/reports'])]);
    const lines = table.split('\n');
    expect(lines[lines.findIndex((l) => l.startsWith('db/reports')) + 1]).toMatch(said);
    expect(one).toMatch(new RegExp(`^  Waiting:\\s+${said.source}`, 'm'));
    expect(history).toMatch(said);

    const rows = JSON.parse(await cli(['status', '--json'])) as Array<{
      id: string;
      wait: { kind: string; behind: { runId: string } } | null;
    }>;
    expect(rows.find((r) => r.id === 'db/reports')?.wait).toMatchObject({ kind: 'stagger', behind: { runId: first.id } });
    expect(rows.find((r) => r.id === 'db/app')?.wait).toBeNull();
    const runs = JSON.parse(await cli(['history', 'db/reports', '--json'])) as Array<{ id: string; wait: { until: string } | null }>;
    expect(runs[0]).toMatchObject({ id: second.id, wait: { until: second.notBefore!.toISOString() } });
  });
});
