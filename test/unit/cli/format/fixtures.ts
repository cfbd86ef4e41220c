// Fixed rows and a fixed clock for the CLI's text snapshots.
import type { SecretDetail } from '../../../../src/cli/format/describe.js';
import type { StatusTableRow } from '../../../../src/cli/format/status-table.js';
import type { RunWait } from '../../../../src/state/run-waits.js';

export const NOW = new Date('2026-12-03T12:00:00Z');
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);
const MIN = 60_000;
const DAY = 86_400_000;

export const STAGGER: RunWait = {
  runId: '7f3c2a10-0000-4000-8000-000000000002',
  secretId: 'payments/orders-db-readonly',
  kind: 'stagger',
  until: at(100_000),
  step: 'create',
  target: 'postgres://orders.db.internal:5432',
  behind: { runId: '5e1d9b20-0000-4000-8000-000000000001', secretId: 'payments/orders-db', state: 'running' },
};

export const ROWS: StatusTableRow[] = [
  { id: 'billing/stripe-webhook', status: 'needs-attention', lastSuccessAt: at(-12 * DAY), nextDueAt: at(-5 * DAY) },
  { id: 'payments/orders-db', status: 'rotating', lastSuccessAt: at(-30 * DAY - 3 * 3_600_000), nextDueAt: at(-2 * MIN) },
  { id: 'payments/orders-db-readonly', status: 'rotating', lastSuccessAt: at(-30 * DAY), nextDueAt: at(-MIN), wait: STAGGER },
  { id: 'platform/redis-cache', status: 'overdue', lastSuccessAt: null, nextDueAt: at(-2 * 3_600_000) },
  { id: 'search/es-admin', status: 'due-soon', lastSuccessAt: at(-27 * DAY), nextDueAt: at(3 * DAY + 4 * 3_600_000) },
  { id: 'web/session-key', status: 'healthy', lastSuccessAt: at(-3 * DAY), nextDueAt: at(27 * DAY) },
  { id: 'legacy/ftp', status: 'retired', lastSuccessAt: at(-400 * DAY), nextDueAt: null },
];

export const DETAIL: SecretDetail = {
  id: 'payments/orders-db-readonly',
  status: 'rotating',
  rotator: 'postgres-password',
  class: 'database',
  owner: 'payments-team',
  lastSuccessAt: at(-30 * DAY),
  nextDueAt: at(-MIN),
  overdueSince: null,
  policy: {
    schedule: 'every 30d',
    window: 'mon-fri 02:00-05:00 Europe/Berlin',
    graceMs: 10 * MIN,
    emergencyGraceMs: 30_000,
    store: 'local:payments/orders-db-readonly',
    target: 'postgres://orders.db.internal:5432',
    source: 'policies/payments.yaml:12',
    consumers: ['orders-api (kubernetes-secret, wave 1)', 'reporting (webhook, wave 2)'],
  },
  activeRun: { id: STAGGER.runId, step: 'create', state: 'queued', wait: STAGGER },
  versions: [
    { versionId: '0b6a44e0-0000-4000-8000-00000000000a-1', stages: ['CURRENT'], createdAt: at(-30 * DAY) },
    { versionId: '9c2f7710-0000-4000-8000-00000000000b-1', stages: ['PREVIOUS'], createdAt: at(-60 * DAY) },
  ],
  pending: null,
  runs: [
    {
      id: STAGGER.runId,
      trigger: 'schedule',
      actor: 'scheduler',
      reason: 'due since 2026-12-03T11:59:00.000Z',
      state: 'queued',
      step: 'create',
      outcome: null,
      error: null,
      createdAt: at(-MIN),
      finishedAt: null,
      steps: [],
      consumers: [],
    },
    {
      id: '0b6a44e0-0000-4000-8000-00000000000a',
      trigger: 'manual',
      actor: 'cli:alice',
      reason: null,
      state: 'done',
      step: 'finished',
      outcome: 'rotated',
      error: null,
      createdAt: at(-30 * DAY),
      finishedAt: at(-30 * DAY + 11 * MIN),
      steps: [
        { step: 'create', attempt: 1, status: 'succeeded', startedAt: at(-30 * DAY), finishedAt: at(-30 * DAY + 400), error: null },
        {
          step: 'grace',
          attempt: 1,
          status: 'succeeded',
          startedAt: at(-30 * DAY + 1_000),
          finishedAt: at(-30 * DAY + 601_000),
          error: null,
        },
        {
          step: 'revoke',
          attempt: 2,
          status: 'succeeded',
          startedAt: at(-30 * DAY + 640_000),
          finishedAt: at(-30 * DAY + 641_500),
          error: null,
        },
      ],
      consumers: [
        {
          name: 'orders-api',
          wave: 1,
          notifiedAt: at(-30 * DAY + 500),
          confirmedAt: at(-30 * DAY + 2_500),
          confirmedAfterPromoteMs: 2_000,
          lastError: null,
        },
        {
          name: 'reporting',
          wave: 2,
          notifiedAt: at(-30 * DAY + 3_000),
          confirmedAt: null,
          confirmedAfterPromoteMs: null,
          lastError: 'HTTP 503 from the hook',
        },
      ],
    },
  ],
};
