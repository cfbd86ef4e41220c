// The fault injector: at random moments (seeded), one fault at a time, each recorded with when it
// started and how long it lasted.
//  - kill-worker:     SIGKILL a worker process mid-whatever, start a replacement at once
//  - kill-scheduler:  SIGKILL the scheduler process, start a new one
//  - restart-redis:   the queue's Redis crashes (SIGKILL; AOF fsynced every second) or stops
//                     gracefully, stays down 1-3 s, comes back on the same port and data dir
//  - restart-target:  the target PostgreSQL stops fast (SIGINT) or crashes (SIGQUIT, immediate
//                     shutdown, crash recovery at start), stays down 1-4 s, comes back
//  - restart-redis-target: the redis-acl secrets' redis-server crashes (SIGKILL) or stops, stays
//                     down 1-3 s, and comes back with the ACL users of its aclfile (what rotor's
//                     ACL SAVE wrote: a password added or removed but not saved would show here)
//  - restart-mariadb-target: the mysql secrets' MariaDB crashes (SIGKILL, crash recovery at start) or
//                     stops (SIGTERM), stays down 1-3 s, and comes back on the same port and datadir
//  - restart-ldap-target: the ldap secrets' slapd crashes (SIGKILL) or stops (SIGTERM), stays down
//                     1-3 s, and comes back on the same ports and database
//  - stall-store:     every process of the state database (and local store) server is frozen with
//                     SIGSTOP for 2-6 s, then SIGCONT: connections stay open, queries just hang,
//                     as on a VM pause or a storage hiccup. Stopping the postmaster alone would
//                     only delay new connections; pooled sessions would carry on.
import type { MariadbServerHandle } from '../test/helpers/mariadb-server.js';
import type { RedisServerHandle } from '../test/helpers/redis-server.js';
import type { SlapdHandle } from '../test/helpers/slapd-server.js';
import type { ProcessSet } from './processes.js';
import type { Rng } from './rng.js';
import { sleep, type ChaosPostgres } from './servers.js';

export type FaultKind =
  | 'kill-worker'
  | 'kill-scheduler'
  | 'restart-redis'
  | 'restart-target'
  | 'restart-redis-target'
  | 'restart-mariadb-target'
  | 'restart-ldap-target'
  | 'stall-store';

export interface FaultRecord {
  kind: FaultKind;
  /** crash / graceful / fast / the process name. */
  detail: string;
  at: string;
  ms: number;
  error?: string;
}

const WEIGHTS: Array<[FaultKind, number]> = [
  ['kill-worker', 4],
  ['kill-scheduler', 1],
  ['restart-redis', 2],
  ['restart-target', 3],
  ['restart-redis-target', 1],
  ['restart-mariadb-target', 1],
  ['restart-ldap-target', 1],
  ['stall-store', 2],
];

export interface FaultTargets {
  processes: ProcessSet;
  redis: RedisServerHandle;
  target: ChaosPostgres;
  state: ChaosPostgres;
  /** The redis-acl secrets' server. */
  redisTarget?: RedisServerHandle;
  /** The mysql secrets' MariaDB. */
  mariadbTarget?: MariadbServerHandle;
  /** The ldap secrets' slapd. */
  ldapTarget?: SlapdHandle;
}

export interface Injector {
  readonly faults: FaultRecord[];
  /** Stops after the fault in progress, if any, has finished. */
  stop(): Promise<void>;
}

export function startInjector(t: FaultTargets, rng: Rng, everyMs: [number, number], log: (line: string) => void): Injector {
  const faults: FaultRecord[] = [];
  let running = true;
  let wake: (() => void) | undefined;
  // Every kind once first (in a seeded order), so even a short run sees each; then weighted draws.
  const firstRound = WEIGHTS.map(([k]) => k).sort(() => rng.next() - 0.5);
  const pick = (): FaultKind => {
    const first = firstRound.shift();
    if (first) return first;
    let x = rng.next() * WEIGHTS.reduce((n, [, w]) => n + w, 0);
    for (const [kind, w] of WEIGHTS) if ((x -= w) < 0) return kind;
    return 'kill-worker';
  };
  async function inject(kind: FaultKind): Promise<string> {
    switch (kind) {
      case 'kill-worker': {
        const workers = t.processes.live.filter((p) => p.role === 'worker');
        const victim = rng.pick(workers);
        await t.processes.kill(victim);
        // The replacement starts in the background, as a supervisor would restart it: loading a
        // process takes seconds on a busy machine, and the next fault should not wait for it.
        void startWithRetry(() => t.processes.start('worker')).catch(() => undefined);
        return victim.name;
      }
      case 'kill-scheduler': {
        const victim = t.processes.live.find((p) => p.role === 'scheduler');
        if (!victim) return 'none running';
        await t.processes.kill(victim);
        void startWithRetry(() => t.processes.start('scheduler')).catch(() => undefined);
        return victim.name;
      }
      case 'restart-redis':
        return restartRedis(t.redis, rng);
      case 'restart-redis-target':
        return t.redisTarget ? restartRedis(t.redisTarget, rng) : 'none running';
      case 'restart-mariadb-target':
        return t.mariadbTarget ? restartRedis(t.mariadbTarget, rng) : 'none running';
      case 'restart-ldap-target':
        return t.ldapTarget ? restartRedis(t.ldapTarget, rng) : 'none running';
      case 'restart-target': {
        const mode = rng.next() < 0.5 ? 'crash' : 'fast';
        await t.target.restart(mode, rng.int(1_000, 4_000));
        return mode;
      }
      case 'stall-store': {
        const ms = rng.int(2_000, 6_000);
        await t.state.stall(ms);
        return `${ms} ms`;
      }
    }
  }
  const loop = (async () => {
    while (running) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, rng.int(everyMs[0], everyMs[1]));
      });
      if (!running) break;
      const kind = pick();
      const started = Date.now();
      const record: FaultRecord = { kind, detail: '', at: new Date(started).toISOString(), ms: 0 };
      try {
        record.detail = await inject(kind);
      } catch (err) {
        record.error = (err as Error).message.slice(0, 300);
      }
      record.ms = Date.now() - started;
      faults.push(record);
      log(`fault ${faults.length}: ${kind} ${record.detail} (${record.ms} ms)${record.error ? ` ERROR ${record.error}` : ''}`);
    }
  })();
  return {
    faults,
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
  };
}

/** Crashes (SIGKILL) or stops a redis-server (or MariaDB, slapd), leaves it down 1-3 s, starts it on the same port and dir. */
async function restartRedis(server: Pick<RedisServerHandle, 'kill' | 'restart'>, rng: Rng): Promise<string> {
  const crash = rng.next() < 0.5;
  if (crash) await server.kill();
  await sleep(rng.int(1_000, 3_000));
  // restart() stops it gracefully first when it still runs.
  await server.restart();
  return crash ? 'crash' : 'graceful';
}

/** A process that needs Redis at start-up may come up while Redis is restarting: try again. */
async function startWithRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 5 || /stopping/.test((err as Error).message)) throw err;
      await sleep(1_000);
    }
  }
}
