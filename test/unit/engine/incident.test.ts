// The incident planner (selection, dependency order, interleaving, estimate), the phases its status
// counts, and the alerts its audit rows make.
import { describe, expect, it } from 'vitest';
import { EMPTY_SELECTION, countPhases, planIncident } from '../../../src/engine/incident.js';
import { formatAlert } from '../../../src/observe/alerts.js';
import { alertFor } from '../../../src/observe/watcher.js';
import type { IncidentItem } from '../../../src/state/incidents.js';
import type { SecretRow } from '../../../src/state/secrets.js';

function row(id: string, targetKey: string, over: Partial<SecretRow['policy']> = {}): SecretRow {
  return {
    id,
    targetKey,
    status: 'active',
    policy: {
      id,
      owner: 'team',
      className: undefined,
      tags: [],
      consumers: [],
      rotator: { name: 'postgres', params: {} },
      ...over,
    } as SecretRow['policy'],
  } as SecretRow;
}

const item = (over: Partial<IncidentItem>): IncidentItem => ({
  secretId: 'a',
  position: 0,
  targetKey: 't',
  dependsOn: [],
  runId: null,
  skipped: null,
  runState: null,
  runStep: null,
  runOutcome: null,
  runError: null,
  runCreatedAt: null,
  runFinishedAt: null,
  ...over,
});

describe('planIncident', () => {
  const all = [
    row('app/api', 'db1', { tags: ['ci'], dependsOn: ['app/admin'] }),
    row('app/admin', 'db1', { tags: ['ci'] }),
    row('app/web', 'db2', { owner: 'web', consumers: [{ name: 'web-env' } as never] }),
    row('app/worker', 'db2', { tags: ['ci'], dependsOn: ['app/api', 'other/outside'] }),
    row('other/outside', 'db3'),
    { ...row('old/retired', 'db1', { tags: ['ci'] }), status: 'retired' as const },
  ];

  it('selects the union of the filters, puts dependencies first and interleaves targets within a level', () => {
    const plan = planIncident(all, { ...EMPTY_SELECTION, tags: ['ci'], owners: ['web'] }, 2, null);
    expect(plan.secrets.map((s) => [s.secretId, s.level])).toEqual([
      ['app/admin', 0],
      ['app/web', 0],
      ['app/api', 1],
      ['app/worker', 2],
    ]);
    // A dependency outside the selection is not waited for.
    expect(plan.secrets.find((s) => s.secretId === 'app/worker')!.dependsOn).toEqual(['app/api']);
    expect(plan.targets).toEqual([
      { targetKey: 'db1', secrets: 2 },
      { targetKey: 'db2', secrets: 2 },
    ]);
    expect(plan.consumers).toEqual([{ name: 'web-env', secrets: 1 }]);
    expect(plan.estimateMs).toBeNull();
  });

  it('estimates from the run time: dependency chains and per-target slots', () => {
    const plan = planIncident(all, { ...EMPTY_SELECTION, tags: ['ci'] }, 2, 1000);
    expect(plan.estimateMs).toBe(3000); // admin, then api, then worker
    const many = Array.from({ length: 10 }, (_, i) => row(`s/${i}`, 'db', { tags: ['x'] }));
    // The canary alone (500), then the other nine two at a time (5 × 500).
    expect(planIncident(many, { ...EMPTY_SELECTION, tags: ['x'] }, 2, 500).estimateMs).toBe(3000);
  });

  it('names ids that are no active secret, and refuses a dependency cycle', () => {
    expect(planIncident(all, { ...EMPTY_SELECTION, ids: ['app/web', 'nope', 'old/retired'] }, 2, null).unknownIds).toEqual([
      'nope',
      'old/retired',
    ]);
    const cyclic = [row('a', 't', { dependsOn: ['b'] }), row('b', 't', { dependsOn: ['a'] })];
    expect(() => planIncident(cyclic, { ...EMPTY_SELECTION, targets: ['t'] }, 2, null)).toThrow(/cycle/);
  });

  it('says which secrets are inside a freeze at the planning time, and until when', () => {
    const now = new Date('2026-12-03T11:00:00Z');
    const closing = { kind: 'cron', expression: '0 0 * * *', tz: 'UTC', durationMs: 86_400_000 / 2, text: '12h from "0 0 * * *" UTC' };
    const secrets = [row('f/ledger', 't', { freezes: [closing as never] }), row('f/free', 't')];
    const plan = planIncident(secrets, { ...EMPTY_SELECTION, targets: ['t'] }, 2, null, now);
    expect(plan.secrets.map((s) => [s.secretId, s.frozenUntil])).toEqual([
      ['f/free', null],
      ['f/ledger', '2026-12-03T12:00:00.000Z'],
    ]);
  });
});

describe('incident phases', () => {
  it('counts each secret once: waiting on consumers apart from rotating, skipped ones as needs attention unless aborted', () => {
    expect(
      countPhases([
        item({}),
        item({ runId: 'r1', runState: 'running', runStep: 'create' }),
        item({ runId: 'r2', runState: 'waiting', runStep: 'verify-consumers' }),
        item({ runId: 'r3', runState: 'done' }),
        item({ runId: 'r4', runState: 'needs-attention' }),
        item({ skipped: 'dependency a did not rotate' }),
        item({ skipped: 'aborted before it was started' }),
      ]),
    ).toEqual({ total: 7, pending: 1, rotating: 1, 'waiting-on-consumers': 1, done: 1, 'needs-attention': 2, 'not-started': 1 });
  });
});

describe('incident alerts', () => {
  const base = { id: 1, actor: 'cli:alice', secret_id: null, run_id: null, reason: 'laptop stolen' };

  it('alert at start, abort and end; an incident run is not alerted as an emergency of its own', () => {
    const started = alertFor({ ...base, action: 'incident.started', detail: { incidentId: 'i-1', secrets: 300 } })!;
    expect(formatAlert(started)).toBe('rotor :fire: incident i-1 started: 300 secrets by cli:alice: laptop stolen');
    const ended = alertFor({
      ...base,
      action: 'incident.ended',
      reason: null,
      detail: { incidentId: 'i-1', state: 'done', done: 298, 'needs-attention': 2, 'not-started': 0 },
    })!;
    expect(formatAlert(ended)).toContain('i-1 done: 298 rotated, 2 need attention');
    expect(alertFor({ ...base, action: 'incident.aborted', detail: { incidentId: 'i-1' } })!.summary).toBe('abort asked for');
    const run = { ...base, secret_id: 's', run_id: 'r', action: 'run.requested' };
    expect(alertFor({ ...run, detail: { trigger: 'emergency', incidentId: 'i-1' } })).toBeNull();
    expect(alertFor({ ...run, detail: { trigger: 'emergency' } })?.kind).toBe('emergency');
  });
});
