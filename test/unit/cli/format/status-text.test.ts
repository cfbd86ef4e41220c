// The text of `rotor status` and `rotor status <id>`, at 80 and 160 columns and piped: fixed rows
// and a fixed clock, so the snapshots change only when the layout does.
import { describe, expect, it } from 'vitest';
import { COLOURS, visibleLength } from '../../../../src/cli/format/colour.js';
import { describeSecret } from '../../../../src/cli/format/describe.js';
import { statusTable } from '../../../../src/cli/format/status-table.js';
import { DETAIL, NOW, ROWS, STAGGER } from './fixtures.js';

describe('rotor status, the table', () => {
  for (const width of [80, 160]) {
    it(`fits ${width} columns`, () => {
      const lines = statusTable(ROWS, { now: NOW, width });
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(width);
      expect(lines.join('\n')).toMatchSnapshot();
    });
  }

  it('keeps the absolute times beside the relative ones when they fit, and drops them first when not', () => {
    const wide = statusTable(ROWS, { now: NOW, width: 160 }).join('\n');
    expect(wide).toContain('2026-11-30 12:00:00Z (3d ago)');
    expect(wide).toContain('in 27d');
    const narrow = statusTable(ROWS, { now: NOW, width: 80 }).join('\n');
    expect(narrow).not.toContain('2026-11-30');
    expect(narrow).toContain('3d ago');
  });

  it('cuts nothing when piped, and says what a staggered run waits for and until when', () => {
    const lines = statusTable(ROWS, { now: NOW });
    const staggered = lines[lines.findIndex((l) => l.startsWith('payments/orders-db-readonly')) + 1]!;
    expect(staggered).toBe('  \u2514 waits until 12:01:40Z (in 1m 40s) for run 5e1d9b20 (payments/orders-db, running) on the same target');
    expect(lines.join('\n')).not.toContain('…');
  });

  it('starts each row with the id and the status word (what scripts split on)', () => {
    const rows = statusTable(ROWS, { now: NOW, width: 80 })
      .slice(1)
      .filter((l) => !l.startsWith(' '))
      .map((l) => l.split(/\s+/).slice(0, 2));
    expect(rows).toEqual(ROWS.map((r) => [r.id, r.status]));
  });

  it('colours the status word only, and the colour never shifts a column', () => {
    const plain = statusTable(ROWS, { now: NOW, width: 120 });
    const coloured = statusTable(ROWS, { now: NOW, width: 120, palette: COLOURS });
    expect(coloured.find((l) => l.startsWith('billing/'))).toContain('\u001b[31mneeds-attention\u001b[39m');
    expect(coloured.find((l) => l.startsWith('search/'))).toContain('\u001b[33mdue-soon\u001b[39m');
    expect(coloured.map(visibleLength)).toEqual(plain.map((l) => l.length));
  });
});

describe('rotor status <id>, the detail', () => {
  for (const width of [80, 160]) {
    it(`lays one secret out at ${width} columns`, () => {
      const lines = describeSecret(DETAIL, { now: NOW, width });
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(width);
      expect(lines.join('\n')).toMatchSnapshot();
    });
  }

  it('says what the active run waits for, the versions and stages, and each consumer', () => {
    const text = describeSecret(DETAIL, { now: NOW }).join('\n');
    expect(text).toMatch(/^Status:\s+rotating$/m);
    expect(text).toMatch(
      /Waiting:\s+waits until 12:01:40Z \(in 1m 40s\) for run 5e1d9b20 \(payments\/orders-db, running\) on the same target/,
    );
    expect(text).toMatch(/0b6a44e0-0000-4000-8000-00000000000a-1\s+CURRENT/);
    expect(text).toContain('consumer orders-api (wave 1): confirmed 2s after promote');
    expect(text).toContain('consumer reporting (wave 2): notified, not confirmed: HTTP 503 from the hook');
    expect(text).not.toContain('{');
  });

  it('says what a rollback waits for, and what each consumer did with the old version', () => {
    const [active, last, ...rest] = DETAIL.runs;
    const consumers = last!.consumers;
    const at = new Date(NOW.getTime() - 1_000);
    const rolledBack = {
      ...DETAIL,
      activeRun: {
        ...DETAIL.activeRun!,
        step: 'rollback',
        state: 'waiting',
        wait: { ...STAGGER, kind: 'wait' as const, step: 'rollback' },
      },
      runs: [
        active!,
        {
          ...last!,
          consumers: [
            { ...consumers[0]!, rollbackNotifiedAt: at, rollbackConfirmedAt: at, rollbackError: null },
            { ...consumers[1]!, rollbackNotifiedAt: at, rollbackConfirmedAt: null, rollbackError: 'reports version v2' },
          ],
        },
        ...rest,
      ],
    };
    const text = describeSecret(rolledBack, { now: NOW }).join('\n');
    expect(text).toMatch(
      /Waiting:\s+rolling back: waits for the consumers to confirm the old version, looks again at 12:01:40Z \(in 1m 40s\)/,
    );
    expect(text).toContain('consumer orders-api (wave 1): confirmed 2s after promote; rollback: confirmed the old version');
    expect(text).toContain(
      'consumer reporting (wave 2): notified, not confirmed: HTTP 503 from the hook; rollback: told the old version, not confirmed: reports version v2',
    );
  });

  it('says why the versions are unknown when the store cannot be read here', () => {
    const text = describeSecret({ ...DETAIL, versions: { unknown: 'no master key here' } }, { now: NOW }).join('\n');
    expect(text).toContain('unknown: no master key here');
  });
});
