// A chaos run from start to end: private servers, the target's roles, the secrets synced into the
// state database, one scheduler and several worker processes, consumer clients, then faults for
// `minutes`, a drain, every invariant checked, and the figures.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlreadyInProgressError } from '../src/errors.js';
import { requestRotation } from '../src/engine/request.js';
import { silentLogger } from '../src/log.js';
import { createQueueKit, type QueueKit } from '../src/queue/backend.js';
import { trackedSecrets } from '../src/redact.js';
import { targetKeyOf } from '../src/rotator/catalogue.js';
import { createStatePool } from '../src/state/db.js';
import { migrate } from '../src/state/migrate.js';
import { syncSecrets } from '../src/state/secrets.js';
import { createLocalStore } from '../src/store/local/store.js';
import { startFakeSaas, type FakeSaas } from '../test/helpers/fake-saas.js';
import { startMariadbServer } from '../test/helpers/mariadb-server.js';
import { startSlapd } from '../test/helpers/slapd-server.js';
import type { RedisServerHandle } from '../test/helpers/redis-server.js';
import { attemptBound, finalChecks, startContinuousChecks, violations } from './checker.js';
import { startClients } from './clients.js';
import { startInjector } from './faults.js';
import {
  ADMIN_REF,
  HTTP_ADMIN_REF,
  MARIADB_ADMIN_REF,
  LDAP_ADMIN_REF,
  setUpLdapTarget,
  REDIS_ADMIN_REF,
  WEBHOOK_KEY_REF,
  buildFleet,
  setUpTarget,
  withHash,
  type FleetSecret,
} from './fleet.js';
import { leaksInFile, leaksInRedis, leaksInTables, ValueSet } from './leaks.js';
import type { ChaosOptions } from './options.js';
import { processSet } from './processes.js';
import { invariantTable, type ChaosResult } from './report.js';
import { createRng } from './rng.js';
import { sleep, startChaosPostgres, startQueueRedis, startTargetRedis, type ChaosPostgres } from './servers.js';

const ATTEMPTS_PER_STEP = 6;
const QUEUE_PREFIX = 'rotor';

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const say = opts.progress;
  const rng = createRng(opts.seed);
  const startedAt = new Date();
  const logDir = mkdtempSync(join(tmpdir(), 'rotor-chaos-logs-'));
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const [state, target, redis] = await Promise.all([
      startChaosPostgres('state', 200),
      startChaosPostgres('target', 500),
      startQueueRedis(),
    ]);
    cleanups.push(
      () => state.stop(),
      () => target.stop(),
      () => redis.stop(),
    );
    say(
      `state PostgreSQL :${state.port}, target PostgreSQL :${target.port}, redis-server :${redis.port} (appendonly yes, appendfsync everysec); logs in ${logDir}`,
    );
    return await runOn({ opts, rng, startedAt, logDir, state, target, redis, cleanups });
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
}

interface Env {
  opts: ChaosOptions;
  rng: ReturnType<typeof createRng>;
  startedAt: Date;
  logDir: string;
  state: ChaosPostgres;
  target: ChaosPostgres;
  redis: RedisServerHandle;
  cleanups: Array<() => Promise<unknown>>;
}

async function runOn(e: Env): Promise<ChaosResult> {
  const { opts, rng, state, target, redis, cleanups } = e;
  const say = opts.progress;
  const values = new ValueSet();
  for (const v of [state.password, target.password]) values.add(v);
  const masterKey = randomBytes(32);
  values.add(masterKey.toString('hex'));
  const webhookKey = randomBytes(32).toString('base64url');
  values.add(webhookKey);

  const pool = createStatePool({ url: state.url(), max: 10, applicationName: 'rotor-chaos-harness' });
  cleanups.push(() => pool.end());
  await migrate(pool);
  const store = createLocalStore({ pool, key: masterKey });

  // Clients first: the secrets' consumer entries name their URL.
  const placeholder = buildFleet(
    {
      ...fleetSpec(
        opts,
        target,
        { host: '127.0.0.1', port: 1 },
        { host: '127.0.0.1', port: 1 },
        { url: 'ldap://127.0.0.1:1', admin: { dn: 'cn=placeholder' } },
      ),
      consumerUrl: 'http://127.0.0.1:1',
    },
    rng.fork('fleet'),
  );
  const clients = await startClients(
    placeholder.map((f) => ({ id: f.secret.id, overlap: f.overlap, login: f.login })),
    store,
    { webhookKey },
  );
  cleanups.push(() => clients.close());
  // The redis-acl secrets' users are known from the fleet; their server starts with them in its aclfile.
  const redisTarget = await startTargetRedis(
    placeholder.filter((f) => f.engine === 'redis').map((f) => (f.secret.rotator.params as { target: { user: string } }).target.user),
  );
  cleanups.push(() => redisTarget.stop());
  values.add(redisTarget.adminPassword);
  // The mysql secrets' MariaDB: rotor provisions their accounts (provision: true) at the first preflight.
  const mariadbTarget = await startMariadbServer({ durable: true });
  cleanups.push(() => mariadbTarget.stop());
  values.add(mariadbTarget.password);
  // The ldap secrets' slapd: their accounts and groups are made below, as the rootdn.
  const ldapTarget = await startSlapd();
  cleanups.push(() => ldapTarget.stop());
  values.add(ldapTarget.admin.password);
  // The http secrets' providers: a fake SaaS each (one account, two keys at most), one admin token.
  const httpAdminToken = `adm_${randomBytes(24).toString('base64url')}`;
  values.add(httpAdminToken);
  const saas: FakeSaas[] = [];
  for (const _ of placeholder.filter((f) => f.engine === 'http')) saas.push(await startFakeSaas({ adminToken: httpAdminToken }));
  cleanups.push(async () => void (await Promise.all(saas.map((f) => f.close()))));
  const fleet = buildFleet(
    { ...fleetSpec(opts, target, redisTarget, mariadbTarget, ldapTarget), consumerUrl: clients.url, httpTargets: saas.map((f) => f.url) },
    rng.fork('fleet'),
  );
  await setUpTarget(target.url, fleet);
  await setUpLdapTarget(ldapTarget, fleet);
  await syncSecrets(
    pool,
    fleet.map((f) => f.secret),
    { actor: 'chaos', targetKeyOf, nextDueOf: () => new Date() },
  );
  say(`${fleet.length} secrets synced (${describeFleet(fleet)})`);

  const processes = processSet({
    logDir: e.logDir,
    values,
    env: {
      CHAOS_STATE_URL: state.url(),
      CHAOS_REDIS_URL: redis.url,
      CHAOS_QUEUE_PREFIX: QUEUE_PREFIX,
      CHAOS_MASTER_KEY: masterKey.toString('hex'),
      [ADMIN_REF.slice(4)]: target.url('app'),
      [WEBHOOK_KEY_REF.slice(4)]: webhookKey,
      [REDIS_ADMIN_REF.slice(4)]: redisTarget.adminUrl,
      [MARIADB_ADMIN_REF.slice(4)]: mariadbTarget.url,
      [LDAP_ADMIN_REF.slice(4)]: ldapTarget.admin.password,
      [HTTP_ADMIN_REF.slice(4)]: httpAdminToken,
      CHAOS_ROTATORS: 'http,ldap,mysql,postgres,random-secret,redis-acl',
      CHAOS_TIMING: JSON.stringify({
        // Short locks and leases, so a killed worker's runs are picked up again within seconds.
        lockMs: 5_000,
        stalledMs: 2_500,
        leaseMs: 6_000,
        pollMs: 300,
        concurrency: 8,
        tickMs: 1_000,
        // No spacing between secrets of the one target; lost jobs re-enqueued after 20 s untouched.
        tick: { staggerMs: 50, staleMs: 20_000, batch: 200 },
      }),
    },
  });
  cleanups.push(() => processes.stopAll(5_000));
  await Promise.all([processes.start('scheduler'), ...Array.from({ length: opts.workers }, () => processes.start('worker'))]);
  say(`scheduler and ${opts.workers} workers running`);

  // Replace processes that died without being killed (they are reported too).
  let handledExits = 0;
  const respawner = setInterval(() => {
    while (handledExits < processes.unexpected.length) {
      const exit = processes.unexpected[handledExits++]!;
      void retry(() => processes.start(exit.role)).catch(() => undefined);
    }
  }, 1_000);
  cleanups.push(async () => clearInterval(respawner));

  // Bootstrap: every secret gets its first credential before faults start.
  const bootStart = Date.now();
  await waitUntil(
    async () => {
      const r = await pool.query<{ n: number }>(
        `select count(*)::int as n from secrets s where s.last_success_at is null
         and (not exists (select 1 from runs r where r.secret_id = s.id)
              or exists (select 1 from runs r where r.secret_id = s.id and r.state in ('queued', 'running', 'waiting')))`,
      );
      return r.rows[0]!.n === 0;
    },
    600_000,
    'every secret to get its first credential',
  );
  const bootstrapS = Math.round((Date.now() - bootStart) / 1000);
  say(`bootstrap done in ${bootstrapS} s`);

  const v = violations();
  const deps = { pool, store, fleet, clients, v, attemptsPerStep: ATTEMPTS_PER_STEP };
  clients.startLoops(rng.fork('clients'), opts.loginEveryMs);
  const checker = startContinuousChecks(deps);
  cleanups.push(() => checker.stop());

  const kit = await createQueueKit({ kind: 'redis', url: redis.url, prefix: QUEUE_PREFIX }, silentLogger);
  cleanups.push(() => kit.close());
  const emergencies = { requested: 0, alreadyInProgress: 0, failed: 0 };
  const emergencyLoop = startEmergencies(
    kit,
    pool,
    fleet.map((f) => f.secret.id),
    rng.fork('emergency'),
    opts.emergencyEveryMs,
    emergencies,
  );

  const leakScan = { scans: 0, keys: 0, found: new Set<string>() };
  const scanRedis = async () => {
    const r = await leaksInRedis(redis.url, values);
    leakScan.scans++;
    leakScan.keys += r.keys;
    for (const k of r.found) leakScan.found.add(`redis key ${k}`);
  };
  const scanner = setInterval(() => void scanRedis().catch(() => undefined), 30_000);
  cleanups.push(async () => clearInterval(scanner));

  const injector = startInjector(
    { processes, redis, target, state, redisTarget: redisTarget.server, mariadbTarget, ldapTarget },
    rng.fork('faults'),
    opts.faultEveryMs,
    say,
  );
  const faultStart = Date.now();
  const end = faultStart + opts.minutes * 60_000;
  while (Date.now() < end) {
    await sleep(Math.min(30_000, end - Date.now()));
    const runs = await pool
      .query<{ state: string; n: number }>('select state, count(*)::int as n from runs group by 1')
      .catch(() => ({ rows: [] }));
    say(
      `${Math.round((Date.now() - faultStart) / 1000)} s: runs ${runs.rows.map((r) => `${r.state} ${r.n}`).join(', ')}; faults ${injector.faults.length}; consumer auth failures ${clients.counters.overlap.auth}; violations ${v.list.length}`,
    );
  }
  await injector.stop();
  await emergencyLoop.stop();
  const faultsS = Math.round((Date.now() - faultStart) / 1000);

  // Drain: no new rotations (a policy change, as an operator would make), every run in flight ends.
  say('faults stopped; draining');
  const drainStart = Date.now();
  const parked = fleet.map((f) => withHash({ ...f.secret, schedule: { kind: 'interval', ms: 86_400_000, text: '1d' } }));
  await retry(() => syncSecrets(pool, parked, { actor: 'chaos-drain', targetKeyOf, nextDueOf: () => new Date(Date.now() + 86_400_000) }));
  await waitUntil(
    async () =>
      (await pool.query<{ n: number }>("select count(*)::int as n from runs where state in ('queued', 'running', 'waiting')")).rows[0]!
        .n === 0,
    opts.drainMs,
    'every run to end',
  ).catch((err: Error) => say(err.message));
  const drainS = Math.round((Date.now() - drainStart) / 1000);
  await checker.stop();
  await clients.close();
  await processes.stopAll();
  clearInterval(respawner);
  say(`drained in ${drainS} s; final checks`);

  const overlapIds = new Set(fleet.filter((f) => f.overlap).map((f) => f.secret.id));
  const figures = await finalChecks(deps);
  // Single-user secrets have no overlap by design: their probe failures are counted apart, not here.
  for (const f of clients.authFailures.filter((x) => overlapIds.has(x.secretId)))
    v.add(
      'no-revoke-in-use',
      `consumer of ${f.secretId} refused with version ${f.versionId} at ${f.at} (SQLSTATE ${f.code}; it held ${f.heldNow ?? 'nothing'} then)`,
    );

  // Leaks: every value generated (reported by the workers), read by the clients or the checker.
  for (const s of trackedSecrets()) values.add(s);
  for (const s of saas.flatMap((f) => f.issued())) values.add(s);
  await scanRedis();
  const tables = await leaksInTables(pool, values);
  for (const t of tables.found) leakScan.found.add(`table ${t}`);
  let logLines = 0;
  for (const file of processes.logs) {
    const r = await leaksInFile(file, values);
    logLines += r.lines;
    if (r.found.length) leakScan.found.add(`log ${file} lines ${r.found.slice(0, 5).join(', ')}`);
  }
  const serverLogs = state.log() + target.log();
  if (values.foundIn(serverLogs)) leakScan.found.add('a PostgreSQL server log');
  if (values.foundIn(ldapTarget.log())) leakScan.found.add("the target slapd's log");
  for (const f of leakScan.found) v.add('no-secret-leaks', f);

  const invariants = invariantTable(v.list);
  const passed = invariants.every((i) => i.held);
  const faults = injector.faults;
  const byKind: Record<string, number> = {};
  for (const f of faults) {
    const key = ['restart-redis', 'restart-target', 'restart-redis-target', 'restart-mariadb-target', 'restart-ldap-target'].includes(
      f.kind,
    )
      ? `${f.kind} (${f.detail})`
      : f.kind;
    byKind[key] = (byKind[key] ?? 0) + 1;
  }
  const keep = !passed || opts.keepLogs;
  if (!keep) rmSync(e.logDir, { recursive: true, force: true });
  return {
    startedAt: e.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    seed: opts.seed,
    minutes: opts.minutes,
    secrets: {
      total: fleet.length,
      alternatingUsers: fleet.filter((f) => f.overlap && f.engine === 'postgres').length,
      singleUser: fleet.filter((f) => !f.overlap).length,
      randomSecret: fleet.filter((f) => !f.login).length,
      redisAcl: fleet.filter((f) => f.engine === 'redis').length,
      mariadb: fleet.filter((f) => f.engine === 'mariadb').length,
      ldap: fleet.filter((f) => f.engine === 'ldap').length,
      http: fleet.filter((f) => f.engine === 'http').length,
      webhook: fleet.filter((f) => f.webhook).length,
    },
    workers: opts.workers,
    queue: 'BullMQ on a private redis-server, appendonly yes (appendfsync everysec)',
    phases: { bootstrapS, faultsS, drainS },
    faults: { total: faults.length, byKind, list: faults },
    emergencies,
    runs: figures.runs,
    needsAttentionReasons: figures.needsAttentionReasons,
    maxTotalAttempts: figures.maxTotalAttempts,
    maxStepAttempt: figures.maxStepAttempt,
    maxFailedPerRun: figures.maxFailedPerRun,
    attemptBudget: attemptBound(ATTEMPTS_PER_STEP),
    maxActiveRuns: checker.maxActiveRuns,
    auditRows: figures.auditRows,
    consumers: { ...clients.counters, authFailures: clients.authFailures },
    currentChecks: { continuous: checker.currentLogins, final: figures.finalCurrentLogins },
    leaks: {
      valuesLookedFor: values.size,
      redisScans: leakScan.scans,
      redisKeysScanned: leakScan.keys,
      logLines,
      tableRows: tables.rows,
      serverLogBytes: serverLogs.length,
      found: [...leakScan.found],
    },
    unexpectedExits: processes.unexpected,
    evidence: figures.evidence,
    invariants,
    passed,
    logsDir: keep && existsDir(e.logDir) ? e.logDir : null,
  };
}

function describeFleet(fleet: readonly FleetSecret[]): string {
  const alt = fleet.filter((f) => f.overlap && f.engine === 'postgres').length;
  const redis = fleet.filter((f) => f.engine === 'redis').length;
  return `${alt} postgres alternating users, ${fleet.filter((f) => !f.overlap).length} postgres single user, ${redis} redis-acl, ${fleet.filter((f) => f.engine === 'mariadb').length} mysql (MariaDB), ${fleet.filter((f) => f.engine === 'ldap').length} ldap, ${fleet.filter((f) => f.engine === 'http').length} http, ${fleet.filter((f) => !f.login).length} random-secret`;
}

function fleetSpec(
  opts: ChaosOptions,
  target: ChaosPostgres,
  redisTarget: { host: string; port: number },
  mariadbTarget: { host: string; port: number },
  ldapTarget: { url: string; admin: { dn: string } },
) {
  const { singleEvery, randomEvery, webhookEvery, redisEvery, mariadbEvery, ldapEvery, httpEvery, cadenceMs, graceMs } = opts;
  return {
    count: opts.secrets,
    singleEvery,
    randomEvery,
    webhookEvery,
    redisEvery,
    mariadbEvery,
    ldapEvery,
    httpEvery,
    cadenceMs,
    graceMs,
    target: { host: target.host, port: target.port },
    redisTarget: { host: redisTarget.host, port: redisTarget.port },
    mariadbTarget: { host: mariadbTarget.host, port: mariadbTarget.port },
    ldapTarget: { url: ldapTarget.url, adminDn: ldapTarget.admin.dn },
  };
}

/** Emergency rotations of random secrets now and then: the second lane, and one-active-run from another path. */
function startEmergencies(
  kit: QueueKit,
  pool: pg.Pool,
  ids: string[],
  rng: ReturnType<typeof createRng>,
  everyMs: number,
  counts: ChaosResult['emergencies'],
) {
  let running = everyMs > 0;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (running) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, rng.int(everyMs / 2, everyMs * 1.5));
      });
      if (!running) break;
      counts.requested++;
      try {
        await requestRotation(pool, kit, {
          secretId: rng.pick(ids),
          trigger: 'emergency',
          actor: 'chaos',
          reason: 'chaos: emergency rotation',
        });
      } catch (err) {
        // Redis down: the run exists without a job; the scheduler's reaper enqueues it again.
        if (err instanceof AlreadyInProgressError) counts.alreadyInProgress++;
        else counts.failed++;
      }
    }
  })();
  return {
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
  };
}

async function waitUntil(fn: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(500);
  }
}

async function retry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 10) throw err;
      await sleep(1_000);
    }
  }
}

function existsDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
