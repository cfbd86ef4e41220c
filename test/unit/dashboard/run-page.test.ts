// The run page's timeline: a waiting step's checks are one phase drawn as a span (the time waited,
// a countdown while it waits), never slivers with "Took 37ms"; step details and rotator params as
// labelled fields; "steps run" for the step count.
import { describe, expect, it } from 'vitest';
import type { RunDetail } from '../../../src/dashboard/details.js';
import { fields, label } from '../../../src/dashboard/fields.js';
import { runPage } from '../../../src/dashboard/page-run.js';
import type { RunRow, StepRow } from '../../../src/state/runs.js';

const T0 = Date.parse('2026-12-03T12:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);
const META = { title: 'run', nav: 'none', actionsEnabled: false } as const;

function step(
  id: number,
  name: string,
  from: number,
  to: number | null,
  status: StepRow['status'],
  detail: StepRow['detail'] = null,
): StepRow {
  return {
    id,
    runId: 'r',
    step: name,
    attempt: 1,
    status,
    startedAt: at(from),
    finishedAt: to === null ? null : at(to),
    error: null,
    detail,
  };
}

function run(over: Partial<RunRow>): RunRow {
  return {
    id: '0b8e6c8e-2f0c-4d4a-9d7e-1c2b3a4d5e6f',
    secretId: 'demo/app-db',
    trigger: 'schedule',
    actor: 'scheduler',
    reason: null,
    force: false,
    state: 'waiting',
    step: 'grace',
    stepAttempt: 0,
    totalAttempts: 4,
    oldVersion: 'v1',
    newVersion: 'v2',
    notBefore: null,
    promotedAt: at(2),
    graceUntil: at(122),
    waitUntil: at(62),
    outcome: null,
    error: null,
    createdAt: at(0),
    startedAt: at(0),
    updatedAt: at(40),
    finishedAt: null,
    oldLastSeenAt: null,
    oldSessionsSeen: null,
    ...over,
  };
}

const STEPS: StepRow[] = [
  step(1, 'create', 0, 0.5, 'succeeded'),
  step(2, 'verify-new', 0.5, 1, 'succeeded'),
  step(3, 'promote', 1, 2, 'succeeded', { graceMs: 120_000 }),
  step(4, 'distribute', 2, 2.2, 'succeeded'),
  step(5, 'grace', 2.2, 2.237, 'waiting', { graceUntil: at(122).toISOString(), oldSessions: 2 }),
  step(6, 'grace', 32, 32.03, 'waiting', { graceUntil: at(122).toISOString(), oldSessions: 0 }),
];

function render(d: Partial<RunDetail>, now: Date): string {
  const detail: RunDetail = { run: run({}), targetKey: 'postgres://db:5432/app', wait: null, steps: STEPS, consumers: [], audit: [], ...d };
  return runPage(META, detail, now, 'rotor-runs').text;
}

describe('the run timeline', () => {
  it('draws a grace still waiting as one span with the time waited and what is left, and the grace still to come', () => {
    const wait = {
      runId: 'r',
      secretId: 'demo/app-db',
      kind: 'wait' as const,
      until: at(122),
      step: 'grace',
      target: 'postgres://db:5432/app',
      behind: null,
    };
    const html = render({ wait }, at(40));
    expect(html.match(/data-step="grace"/g)).toHaveLength(1);
    const row = /<tr class="step-waiting waited" data-step="grace" data-status="waiting">(.*?)<\/tr>/s.exec(html)![1]!;
    expect(row).toContain('2 checks');
    expect(row).toMatch(/<td>waited 37s, <b>1m 22s<\/b> to go<\/td>/);
    expect(row).not.toMatch(/\d+ms/); // no "Took 37ms" on a waiting row
    expect(row).toMatch(/<span class="wait" style="--l:1\.80;--w:30\.98"><\/span><span class="planned" style="--l:32\.79;--w:67\.21">/);
    expect(row).toMatch(
      /<dt>grace until<\/dt><dd><time datetime="2026-12-03T12:02:02.000Z">2026-12-03 12:02:02Z<\/time> <span class="rel">in 1m 22s<\/span><\/dd><dt>old sessions<\/dt><dd>0<\/dd>/,
    );
    expect(html).toContain('grace until <time datetime="2026-12-03T12:02:02.000Z">');
    expect(html).toContain('<th>steps run</th><td>4</td>');
    expect(html).not.toMatch(/attempts/i);
    expect(html).toContain('href="/targets/postgres%3A%2F%2Fdb%3A5432%2Fapp"');
  });

  it('once grace is over, the span runs from its first check to the one that let the run go on', () => {
    const steps = [...STEPS, step(7, 'grace', 122, 122.01, 'succeeded'), step(8, 'verify-consumers', 122.01, 122.5, 'succeeded')];
    const html = render({ steps, run: run({ state: 'running', step: 'revoke', waitUntil: null }) }, at(123));
    const row = /<tr class="step-succeeded waited" data-step="grace" data-status="succeeded">(.*?)<\/tr>/s.exec(html)![1]!;
    expect(row).toContain('3 checks');
    expect(row).toMatch(/<td>waited 1m 59s<\/td>/);
    expect(html).toMatch(/data-step="verify-consumers" data-status="succeeded">.*?<td>490ms<\/td>/s);
    expect(html).not.toContain('class="planned"');
  });
});

describe('consumer confirmations', () => {
  const consumer = {
    consumer: 'web',
    wave: 1,
    notifiedAt: at(2.2),
    confirmedAt: null,
    confirmedVersion: null,
    confirmedAfterMs: null,
    lastError: 'reports version v1',
    rollbackNotifiedAt: null,
    rollbackConfirmedAt: null,
    rollbackError: null,
  };
  const reason = (html: string) => /<td>(<span class="[^"]*" data-consumer-error="[^"]*">reports version v1<\/span>)<\/td>/.exec(html)?.[1];

  it('shows why a consumer has not confirmed yet as pending (muted) while the run waits for it, red once the run gave up', () => {
    const waiting = reason(render({ consumers: [consumer], run: run({ step: 'verify-consumers' }) }, at(40)));
    expect(waiting).toBe('<span class="muted" data-consumer-error="pending">reports version v1</span>');
    const rollingBack = reason(render({ consumers: [consumer], run: run({ state: 'running', step: 'rollback' }) }, at(40)));
    expect(rollingBack).toBe('<span class="error" data-consumer-error="failed">reports version v1</span>');
    const ended = run({ state: 'needs-attention', step: 'finished', outcome: 'rolled-back', finishedAt: at(50), waitUntil: null });
    expect(reason(render({ consumers: [consumer], run: ended }, at(60)))).toBe(
      '<span class="error" data-consumer-error="failed">reports version v1</span>',
    );
  });

  it('shows what each consumer did in a rollback: confirmed the old version, pending while it waits, red once the run ended', () => {
    const told = { ...consumer, rollbackNotifiedAt: at(41), rollbackError: 'reports version v2' };
    const confirmed = { ...consumer, consumer: 'worker', rollbackNotifiedAt: at(41), rollbackConfirmedAt: at(42) };
    const waiting = render({ consumers: [told, confirmed], run: run({ state: 'waiting', step: 'rollback' }) }, at(45));
    expect(waiting).toContain('<th>Rollback</th>');
    expect(waiting).toMatch(/data-rollback="pending">told the old version .*?, not confirmed yet: reports version v2</);
    expect(waiting).toContain('data-rollback="confirmed">old version confirmed');
    const ended = run({ state: 'needs-attention', step: 'finished', outcome: 'rollback-unconfirmed', finishedAt: at(50), waitUntil: null });
    expect(render({ consumers: [told], run: ended }, at(60))).toContain(
      '<span class="error" data-rollback="unconfirmed">old version not confirmed: reports version v2</span>',
    );
    expect(render({ consumers: [consumer], run: ended }, at(60))).not.toContain('<th>Rollback</th>');
  });
});

describe('labelled fields', () => {
  it('labels keys in words and reads durations, times, lists and nested maps', () => {
    expect(label('graceUntil')).toBe('grace until');
    expect(label('confirmTimeoutMs')).toBe('confirm timeout');
    const html = fields(
      { admin: 'env:PG_ADMIN', users: ['app_a', 'app_b'], target: { host: 'db', port: 5432 }, tls: true, graceMs: 20_000 },
      new Date(T0),
    ).text;
    expect(html).toBe(
      '<dl class="fields"><dt>admin</dt><dd><code>env:PG_ADMIN</code></dd><dt>users</dt><dd><code>app_a</code>, <code>app_b</code></dd>' +
        '<dt>target</dt><dd><dl class="fields"><dt>host</dt><dd><code>db</code></dd><dt>port</dt><dd>5432</dd></dl></dd><dt>tls</dt><dd>yes</dd><dt>grace</dt><dd>20s</dd></dl>',
    );
    expect(fields({ x: '<script>' }, new Date(T0)).text).toContain('&lt;script&gt;');
  });
});
