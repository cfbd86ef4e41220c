// The table a chaos run prints (chaos/report.ts formatTable): every kind of secret in the fleet is
// counted on the secrets line.
import { describe, expect, it } from 'vitest';
import { formatTable, invariantTable, type ChaosResult } from '../../../chaos/report.js';

const logins = (ok: number) => ({ ok, conn: 0, auth: 0 });

/** A passed short run's figures, each kind of secret a different count. */
const RESULT: ChaosResult = {
  startedAt: '2026-12-03T12:00:00Z',
  finishedAt: '2026-12-03T12:05:00Z',
  seed: 7,
  minutes: 1.25,
  secrets: { total: 24, alternatingUsers: 9, singleUser: 4, randomSecret: 2, redisAcl: 3, mariadb: 2, ldap: 1, http: 3, webhook: 12 },
  workers: 3,
  queue: 'BullMQ',
  phases: { bootstrapS: 10, faultsS: 75, drainS: 20 },
  faults: { total: 0, byKind: {}, list: [] },
  emergencies: { requested: 0, alreadyInProgress: 0, failed: 0 },
  runs: { total: 60, done: 60, needsAttention: 0, active: 0, byOutcome: { rotated: 60 }, byTrigger: { schedule: 60 } },
  needsAttentionReasons: [],
  maxTotalAttempts: 9,
  maxStepAttempt: 1,
  maxFailedPerRun: 0,
  attemptBudget: 27,
  maxActiveRuns: 10,
  auditRows: 500,
  consumers: {
    overlap: logins(300),
    single: logins(10),
    redis: logins(30),
    mariadb: logins(30),
    ldap: logins(30),
    http: logins(30),
    notices: 60,
    noticeErrors: 0,
    webhookNotices: 30,
    webhookVerifies: 30,
    webhookRefused: [],
    authFailures: [],
  },
  currentChecks: { continuous: logins(100), final: logins(24) },
  leaks: { valuesLookedFor: 80, redisScans: 3, redisKeysScanned: 40, logLines: 900, tableRows: 2000, serverLogBytes: 1, found: [] },
  unexpectedExits: [],
  evidence: [],
  invariants: invariantTable([]),
  passed: true,
  logsDir: null,
};

describe('the chaos report', () => {
  it('counts every kind of secret on the secrets line, http ones included', () => {
    const line = formatTable(RESULT)
      .split('\n')
      .find((l) => l.startsWith('| secrets '));
    expect(line).toContain(
      '24 (postgres: 9 alternating users, 4 single user; 3 redis-acl; 2 mysql on MariaDB; 1 ldap on slapd; 3 http on fake SaaS; 2 random-secret), 3 workers + 1 scheduler',
    );
  });
});
