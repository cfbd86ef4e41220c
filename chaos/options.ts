// What a chaos run does and for how long: the CLI flags and the timings derived from the scale.

export interface ChaosOptions {
  /** How long faults are injected, after every secret has its first credential. */
  minutes: number;
  secrets: number;
  /** Worker processes (the scheduler runs in one more). */
  workers: number;
  seed: number;
  /** Every how many secrets one is single-user (no overlap); the others alternate users. @defaultValue 3 */
  singleEvery: number;
  /** Every how many secrets one is a random secret (the store is its target); 0 for none. @defaultValue 10 */
  randomEvery: number;
  /**
   * Every how many secrets one tells its application through rotor's real `webhook` consumer (a
   * signed POST and a signed verify GET over HTTP) instead of the in-process chaos consumer; 0 for
   * none. @defaultValue 2
   */
  webhookEvery: number;
  /** Every how many secrets one is a Redis ACL user (redis-acl rotator) on a target redis-server; 0 for none. @defaultValue 10 */
  redisEvery: number;
  /** Every how many secrets one is a MariaDB account (mysql rotator, dual password) on a target MariaDB; 0 for none. @defaultValue 10 */
  mariadbEvery: number;
  /** Every how many secrets one is an LDAP service account (ldap rotator, alternating accounts) on a target slapd; 0 for none. @defaultValue 10 */
  ldapEvery: number;
  /** Every how many secrets one is a SaaS API key (http rotator) on a fake provider of its own; 0 for none. @defaultValue 10 */
  httpEvery: number;
  /** Rotation cadence of each secret, drawn in this range (ms). */
  cadenceMs: [number, number];
  /** Grace window of each secret, drawn in this range (ms). */
  graceMs: [number, number];
  /** Pause between two faults, drawn in this range (ms). */
  faultEveryMs: [number, number];
  /** Pause between two logins of one consumer client, drawn in this range (ms). */
  loginEveryMs: [number, number];
  /** Pause between two emergency rotation requests (ms); 0 for none. */
  emergencyEveryMs: number;
  /** Longest wait for every run to end once faults stop. */
  drainMs: number;
  /** Where the results JSON goes. @defaultValue chaos/results */
  resultsDir: string;
  /** Keep the worker logs even when every invariant held. */
  keepLogs: boolean;
  /** Progress lines (stdout for the CLI, nothing in tests). */
  progress(line: string): void;
}

export function defaultOptions(over: Partial<ChaosOptions> = {}): ChaosOptions {
  const secrets = over.secrets ?? 300;
  // About one rotation per secret every one or two minutes at full scale; faster when there are few.
  const cadence: [number, number] = secrets >= 100 ? [60_000, 150_000] : [15_000, 35_000];
  return {
    minutes: 10,
    secrets,
    workers: 3,
    seed: Date.now() % 1_000_000,
    singleEvery: 3,
    randomEvery: 10,
    webhookEvery: 2,
    redisEvery: 10,
    mariadbEvery: 10,
    ldapEvery: 10,
    httpEvery: 10,
    cadenceMs: cadence,
    graceMs: [1_500, 5_000],
    faultEveryMs: secrets >= 100 ? [6_000, 16_000] : [4_000, 8_000],
    loginEveryMs: secrets >= 100 ? [2_000, 6_000] : [500, 1_500],
    emergencyEveryMs: 15_000,
    drainMs: 240_000,
    resultsDir: 'chaos/results',
    keepLogs: false,
    progress: () => undefined,
    ...over,
  };
}

/** Reads `--minutes 2 --secrets 40 --workers 3 --seed 7 --keep-logs`. */
export function parseArgs(argv: readonly string[]): Partial<ChaosOptions> {
  const out: Partial<ChaosOptions> = {};
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number, got ${v ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const [name, inline] = flag.includes('=') ? flag.split('=', 2) : [flag, undefined];
    const value = () => inline ?? argv[++i];
    switch (name) {
      case '--minutes':
        out.minutes = num(name, value());
        break;
      case '--secrets':
        out.secrets = Math.round(num(name, value()));
        break;
      case '--workers':
        out.workers = Math.round(num(name, value()));
        break;
      case '--seed':
        out.seed = Math.round(num(name, value()));
        break;
      case '--results':
        out.resultsDir = value()!;
        break;
      case '--keep-logs':
        out.keepLogs = true;
        break;
      case '--help':
      case '-h':
        throw new HelpRequested();
      default:
        throw new Error(`unknown option ${flag} (try --help)`);
    }
  }
  return out;
}

export class HelpRequested extends Error {}

export const USAGE = `usage: npm run chaos -- [--minutes 10] [--secrets 300] [--workers 3] [--seed N] [--results dir] [--keep-logs]

Rotates --secrets PostgreSQL secrets (2 of 3 alternating users, 1 of 3 single user; 1 in 10 a
random secret, 1 in 10 a Redis ACL user, 1 in 10 a MariaDB account of the mysql rotator, 1 in 10 an LDAP account pair on slapd, 1 in 10 a SaaS API key of the http rotator; half of them tell their application through rotor's signed webhook) with --workers
worker processes and one scheduler process for --minutes while faults are injected (worker and
scheduler SIGKILLs, Redis restarts, target PostgreSQL, redis-server, MariaDB and slapd restarts, state database
stalls), checks
rotor's invariants every second and at the end, prints a table and saves it as JSON.
Exit code 0 when every invariant held, 1 when one did not, 2 when the harness itself failed.`;
