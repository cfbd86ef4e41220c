// The chaos suite, short (CI): the harness of `npm run chaos` for about 75 seconds of faults on a
// few dozen secrets (every fault kind at least once: worker and scheduler SIGKILLs, Redis crash or
// restart, target PostgreSQL, target redis-server, target MariaDB and target slapd restarts, state database stall), then every
// invariant must have held.
import { describe, expect, it } from 'vitest';
import { runChaos } from '../../../chaos/harness.js';
import { defaultOptions } from '../../../chaos/options.js';
import { formatTable } from '../../../chaos/report.js';

const SECRETS = 24;

describe('rotor under faults (chaos, short)', () => {
  it('holds every invariant while workers die, Redis and the target restart and the store stalls', async () => {
    const result = await runChaos(
      defaultOptions({ minutes: 1.25, secrets: SECRETS, workers: 3, seed: 20_260_401, faultEveryMs: [3_000, 5_000], drainMs: 150_000 }),
    );
    const table = formatTable(result);
    console.log(`${table}${result.logsDir ? `\nlogs kept in ${result.logsDir}` : ''}`);
    // The state database is gone after the run: what it said about the runs in question, for the log.
    if (!result.passed) console.log(JSON.stringify(result.evidence, null, 1));

    // Each invariant on its own line, with the violations as the message when one fails.
    for (const inv of result.invariants) expect(inv.examples, `${inv.invariant}: ${inv.description}`).toEqual([]);
    expect(result.passed).toBe(true);

    // The faults really happened, every kind of them, and the run did real work under them.
    for (const kind of [
      'kill-worker',
      'kill-scheduler',
      'restart-redis',
      'restart-target',
      'restart-redis-target',
      'restart-mariadb-target',
      'restart-ldap-target',
      'stall-store',
    ]) {
      expect(result.faults.list.filter((f) => f.kind === kind && !f.error).length, kind).toBeGreaterThan(0);
    }
    expect(result.runs.active).toBe(0);
    expect(result.runs.done).toBeGreaterThan(SECRETS * 2);
    expect(result.consumers.overlap.ok).toBeGreaterThan(200);
    expect(result.consumers.overlap.auth).toBe(0);
    // Redis ACL users rotate too, their clients log in all along (AUTH), none refused.
    expect(result.secrets.redisAcl).toBeGreaterThan(0);
    expect(result.consumers.redis.ok).toBeGreaterThan(20);
    expect(result.consumers.redis.auth).toBe(0);
    // MariaDB accounts (mysql rotator: dual password, alternating users) rotate through server crashes; no login refused.
    expect(result.secrets.mariadb).toBeGreaterThan(0);
    expect(result.consumers.mariadb.ok).toBeGreaterThan(20);
    expect(result.consumers.mariadb.auth).toBe(0);
    // LDAP service accounts (ldap rotator, alternating accounts) rotate through slapd crashes; no bind refused.
    expect(result.secrets.ldap).toBeGreaterThan(0);
    expect(result.consumers.ldap.ok).toBeGreaterThan(20);
    expect(result.consumers.ldap.auth).toBe(0);
    // SaaS API keys (http rotator, a fake provider each with a two-key limit): their clients call with the key all along, none refused.
    expect(result.secrets.http).toBeGreaterThan(0);
    expect(result.consumers.http.ok).toBeGreaterThan(20);
    expect(result.consumers.http.auth).toBe(0);
    // Half the secrets tell their application through the real signed webhook: every request verified.
    expect(result.secrets.webhook).toBe(SECRETS / 2);
    expect(result.consumers.webhookNotices).toBeGreaterThan(SECRETS);
    expect(result.consumers.webhookVerifies).toBeGreaterThan(0);
    expect(result.consumers.webhookRefused).toEqual([]);
    expect(result.currentChecks.final.ok).toBe(SECRETS);
    // The leak scan looked for every generated value, in places that had content.
    expect(result.leaks.valuesLookedFor).toBeGreaterThan(SECRETS * 2);
    expect(result.leaks.redisKeysScanned).toBeGreaterThan(0);
    expect(result.leaks.logLines).toBeGreaterThan(0);
  }, 600_000);
});
