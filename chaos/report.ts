// The figures of a chaos run: one JSON document (saved under chaos/results/) and the table printed
// at the end.
import type { ClientCounters, AuthFailure } from './clients.js';
import { INVARIANTS, type FinalFigures, type Invariant, type Violation } from './checker.js';
import type { FaultRecord } from './faults.js';
import type { UnexpectedExit } from './processes.js';

export interface ChaosResult {
  startedAt: string;
  finishedAt: string;
  seed: number;
  minutes: number;
  secrets: {
    total: number;
    alternatingUsers: number;
    singleUser: number;
    randomSecret: number;
    redisAcl: number;
    mariadb: number;
    ldap: number;
    /** http rotator secrets (a fake SaaS each). */
    http?: number;
    webhook: number;
  };
  workers: number;
  queue: string;
  /** Seconds: until every secret had its first credential; under faults; draining. */
  phases: { bootstrapS: number; faultsS: number; drainS: number };
  faults: { total: number; byKind: Record<string, number>; list: FaultRecord[] };
  emergencies: { requested: number; alreadyInProgress: number; failed: number };
  runs: FinalFigures['runs'];
  needsAttentionReasons: FinalFigures['needsAttentionReasons'];
  maxTotalAttempts: number;
  maxStepAttempt: number;
  maxFailedPerRun: number;
  /** Failed attempts a run may spend: 9 steps × retry.attempts. */
  attemptBudget: number;
  maxActiveRuns: number;
  auditRows: number;
  consumers: ClientCounters & { authFailures: AuthFailure[] };
  currentChecks: { continuous: { ok: number; conn: number; auth: number }; final: { ok: number; conn: number; auth: number } };
  leaks: {
    valuesLookedFor: number;
    redisScans: number;
    redisKeysScanned: number;
    logLines: number;
    tableRows: number;
    serverLogBytes: number;
    found: string[];
  };
  unexpectedExits: UnexpectedExit[];
  /** Runs named by violations: their rows, steps, consumer confirmations and audit rows. */
  evidence: Array<Record<string, unknown>>;
  invariants: Array<{ invariant: Invariant; description: string; held: boolean; violations: number; examples: string[] }>;
  passed: boolean;
  logsDir: string | null;
}

export function invariantTable(list: readonly Violation[]): ChaosResult['invariants'] {
  return (Object.keys(INVARIANTS) as Invariant[]).map((invariant) => {
    const mine = list.filter((v) => v.invariant === invariant);
    return {
      invariant,
      description: INVARIANTS[invariant],
      held: mine.length === 0,
      violations: mine.length,
      examples: mine.slice(0, 10).map((v) => `${v.at} ${v.detail}`),
    };
  });
}

export function formatTable(r: ChaosResult): string {
  const rows: Array<[string, string]> = [];
  const add = (k: string, v: string | number) => rows.push([k, String(v)]);
  add('duration', `${r.minutes} min of faults (bootstrap ${r.phases.bootstrapS} s, drain ${r.phases.drainS} s), seed ${r.seed}`);
  add(
    'secrets',
    `${r.secrets.total} (postgres: ${r.secrets.alternatingUsers} alternating users, ${r.secrets.singleUser} single user; ${r.secrets.redisAcl} redis-acl; ${r.secrets.mariadb} mysql on MariaDB; ${r.secrets.ldap} ldap on slapd; ${r.secrets.http ?? 0} http on fake SaaS; ${r.secrets.randomSecret} random-secret), ${r.workers} workers + 1 scheduler`,
  );
  add('queue', r.queue);
  add('faults injected', r.faults.total);
  for (const [kind, n] of Object.entries(r.faults.byKind).sort()) add(`  ${kind}`, n);
  add(
    'emergency requests',
    `${r.emergencies.requested} (already in progress: ${r.emergencies.alreadyInProgress}, failed: ${r.emergencies.failed})`,
  );
  add('runs', r.runs.total);
  add('  done (rotated)', r.runs.done);
  add('  needs-attention', r.runs.needsAttention);
  for (const [outcome, n] of Object.entries(r.runs.byOutcome).sort()) if (outcome !== 'rotated') add(`    ${outcome}`, n);
  add('  still active after drain', r.runs.active);
  for (const reason of r.needsAttentionReasons.slice(0, 8)) add(`  reason ×${reason.count}`, reason.reason);
  add(
    'max failed attempts in a run',
    `${r.maxFailedPerRun} (budget ${r.attemptBudget}); max step attempt ${r.maxStepAttempt}; max passes ${r.maxTotalAttempts}`,
  );
  add('max active runs at once', r.maxActiveRuns);
  add('consumer logins, overlap secrets', `${r.consumers.overlap.ok} ok, ${r.consumers.overlap.conn} connection errors`);
  add('consumer auth failures (target 0)', r.consumers.overlap.auth);
  add(
    '  of which redis-acl logins',
    `${r.consumers.redis.ok} ok, ${r.consumers.redis.auth} auth failures, ${r.consumers.redis.conn} connection errors`,
  );
  add(
    '  of which MariaDB logins',
    `${r.consumers.mariadb.ok} ok, ${r.consumers.mariadb.auth} auth failures, ${r.consumers.mariadb.conn} connection errors`,
  );
  add(
    '  of which ldap binds',
    `${r.consumers.ldap.ok} ok, ${r.consumers.ldap.auth} auth failures, ${r.consumers.ldap.conn} connection errors`,
  );
  add(
    '  of which http (fake SaaS) calls',
    `${r.consumers.http.ok} ok, ${r.consumers.http.auth} auth failures, ${r.consumers.http.conn} connection errors (${r.secrets.http ?? 0} secrets)`,
  );
  add(
    'webhook consumers (signed HTTP)',
    `${r.secrets.webhook} secrets: ${r.consumers.webhookNotices} notices, ${r.consumers.webhookVerifies} verify calls, ${r.consumers.webhookRefused.length} refused signatures (target 0)`,
  );
  add(
    'single-user probe logins',
    `${r.consumers.single.ok} ok, ${r.consumers.single.auth} auth failures, ${r.consumers.single.conn} connection errors`,
  );
  add(
    'CURRENT checks (continuous)',
    `${r.currentChecks.continuous.ok} ok, ${r.currentChecks.continuous.auth} refused, ${r.currentChecks.continuous.conn} unreachable`,
  );
  add(
    'CURRENT checks (final)',
    `${r.currentChecks.final.ok} ok, ${r.currentChecks.final.auth} refused, ${r.currentChecks.final.conn} unreachable`,
  );
  add(
    'leak scan',
    `${r.leaks.valuesLookedFor} values in ${r.leaks.redisKeysScanned} Redis keys (${r.leaks.redisScans} scans), ${r.leaks.logLines} log lines, ${r.leaks.tableRows} table rows: ${r.leaks.found.length} found`,
  );
  add('unexpected process exits', r.unexpectedExits.length);
  for (const inv of r.invariants)
    add(
      `${inv.held ? 'PASS' : 'FAIL'} ${inv.invariant}`,
      inv.held ? inv.description : `${inv.violations} violation(s): ${inv.examples[0] ?? ''}`,
    );
  add('result', r.passed ? 'every invariant held' : 'INVARIANT VIOLATED');
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    '| ' + 'what'.padEnd(width) + ' | figure |',
    '|' + '-'.repeat(width + 2) + '|--------|',
    ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v.replace(/\|/g, '\\|')} |`),
  ].join('\n');
}
