// rotate --wait: one line per step, one live line for the step in flight, no repeated grace lines.
import { describe, expect, it } from 'vitest';
import { ProgressPrinter, type ProgressMode, type ProgressSnapshot, type ProgressStep } from '../../../../src/cli/format/progress.js';
import { NOW, STAGGER } from './fixtures.js';

const at = (s: number) => new Date(NOW.getTime() + s * 1000);
const RUN = 'run-1';

function step(id: number, name: string, status: string, start: number, end: number | null): ProgressStep {
  return { id, step: name, attempt: 1, status, startedAt: at(start), finishedAt: end === null ? null : at(end), error: null };
}

/**
 * A run staggered behind another, then create, then grace over three passes, then revoke. As the
 * engine does it: grace ends at 161, but the run wakes at 131 to sample the old credential's use
 * (wait_until is the next wake, running while it samples), then waits again until 161.
 */
function snapshots(): ProgressSnapshot[] {
  const created = [step(1, 'create', 'succeeded', 100, 100.4)];
  const grace1 = [...created, step(2, 'grace', 'waiting', 101, 101)];
  const sampling = [...grace1, step(3, 'grace', 'started', 131, null)];
  const grace2 = [...grace1, step(3, 'grace', 'waiting', 131, 131)];
  const done = [...grace2, step(4, 'grace', 'succeeded', 161, 161), step(5, 'revoke', 'succeeded', 161, 162.5)];
  const run = (state: string, stepName: string, waitUntil: number | null) => ({
    id: RUN,
    state,
    step: stepName,
    waitUntil: waitUntil === null ? null : at(waitUntil),
    graceUntil: stepName === 'create' ? null : at(161),
  });
  const wake = (until: number) => ({ ...STAGGER, runId: RUN, kind: 'wait' as const, step: 'grace', until: at(until), behind: null });
  return [
    { run: run('queued', 'create', null), steps: [], wait: STAGGER, now: at(0) },
    { run: run('queued', 'create', null), steps: [], wait: STAGGER, now: at(50) },
    { run: run('waiting', 'grace', 131), steps: grace1, wait: wake(131), now: at(110) },
    { run: run('waiting', 'grace', 131), steps: grace1, wait: wake(131), now: at(120) },
    { run: run('running', 'grace', null), steps: sampling, wait: null, now: at(131) },
    { run: run('waiting', 'grace', 161), steps: grace2, wait: wake(161), now: at(140) },
    { run: run('done', 'finished', null), steps: done, wait: null, now: at(163) },
  ];
}

function print(mode: ProgressMode): string {
  let text = '';
  const p = new ProgressPrinter((t) => (text += t), mode);
  for (const s of snapshots()) p.update(s);
  p.finish({ id: RUN, state: 'done', outcome: 'rotated' });
  return text;
}

describe('rotor rotate --wait', () => {
  it('piped: a step whose row ended before the run moved on is not shown running again', () => {
    let text = '';
    const p = new ProgressPrinter((t) => (text += t), 'plain');
    const verified = [step(1, 'create', 'succeeded', 0, 1), step(2, 'verify-new', 'succeeded', 1, 2)];
    // The run row still names verify-new for a moment: the step row and the run row are two writes.
    const run = { id: RUN, state: 'running', waitUntil: null, graceUntil: null };
    p.update({ run: { ...run, step: 'verify-new' }, steps: verified, wait: null, now: at(2) });
    p.update({ run: { ...run, step: 'promote' }, steps: verified, wait: null, now: at(3) });
    expect(text).not.toMatch(/… verify-new/);
    expect(text.indexOf('✓ verify-new')).toBeLessThan(text.indexOf('… promote'));
  });

  it('piped: each step once, one line per change, no repeated grace lines', () => {
    const text = print('plain');
    expect(text).toMatchSnapshot();
    // Once, with the end of grace (not the next sample at 12:02:11).
    expect(text.match(/grace\s+until/g)).toHaveLength(1);
    expect(text).toMatch(/… grace\s+until 2026-12-03 12:02:41Z \(9s elapsed\)$/m);
    expect(text).toMatch(/✓ grace\s+succeeded\s+1m$/m);
    expect(text).toContain('waits until 12:01:40Z (in 1m 40s) for run 5e1d9b20 (payments/orders-db, running) on the same target');
    expect(text).not.toContain('\r');
  });

  it('on a terminal: the live line is rewritten in place with a countdown for grace', () => {
    const text = print('terminal');
    expect(text).toContain('grace             until 2026-12-03 12:02:41Z, 51s left (9s elapsed)');
    expect(text).toContain('grace             until 2026-12-03 12:02:41Z, 21s left (39s elapsed)');
    // Every finished line starts by erasing the live one.
    expect(text).toContain('\r\u001b[2K  ✓ create');
    expect(text).toContain('\r\u001b[2K  ✓ grace');
    expect(text.split('\n').at(-2)).toBe('run run-1: done (rotated)');
  });

  it('with --json: one JSON line per change', () => {
    const lines = print('json')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; step: string; status?: string });
    expect(lines.map((l) => `${l.event} ${l.step}${l.status ? ` ${l.status}` : ''}`)).toEqual([
      'progress create',
      'step create succeeded',
      'progress grace',
      'step grace succeeded',
      'step revoke succeeded',
    ]);
  });
});
