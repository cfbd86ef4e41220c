// `rotor conformance mysql` as a user runs it, through the rotor executable and the example harness
// (examples/mysql/conformance-harness.mjs), against a private MariaDB, for every strategy; and the
// same harness against a real MySQL 8 when ROTOR_TEST_MYSQL_URL names one (MySQL cannot run here:
// its dual password is otherwise covered only by the statement tests in test/unit).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, rotor } from '../../helpers/cli.js';
import { startMariadbServer, type MariadbServerHandle } from '../../helpers/mariadb-server.js';

const HARNESS = `${REPO_ROOT}examples/mysql/conformance-harness.mjs`;
const STRATEGIES = ['dual-password', 'alternating-users', 'single-user'];
let db: MariadbServerHandle;

beforeAll(async () => {
  db = await startMariadbServer();
});

afterAll(async () => {
  await db?.stop();
});

describe('rotor conformance mysql (MariaDB)', () => {
  it.each(STRATEGIES)(
    '%s passes every check, and the harness drops its accounts',
    async (strategy) => {
      const r = await rotor(['conformance', 'mysql', '--harness', HARNESS], {
        ROTOR_MYSQL_ADMIN_URL: db.url,
        ROTOR_MYSQL_STRATEGY: strategy,
      });
      expect(r.stdout + r.stderr).toMatch(/(\d+) of \1 checks passed/);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('inUse counts a live session');
      const left = await db.query<unknown[]>("SELECT User FROM mysql.user WHERE User LIKE 'rotor\\_conf\\_%'");
      expect(left).toEqual([]);
    },
    60_000,
  );
});

const MYSQL_URL = process.env.ROTOR_TEST_MYSQL_URL;

// Opt-in: a MySQL ≥ 8.0.14 with TLS (RETAIN CURRENT PASSWORD takes a cleartext, sent only over TLS).
describe.runIf(MYSQL_URL)('rotor conformance mysql (MySQL 8, ROTOR_TEST_MYSQL_URL)', () => {
  it.each(STRATEGIES)(
    '%s passes every check',
    async (strategy) => {
      const r = await rotor(['conformance', 'mysql', '--harness', HARNESS], {
        ROTOR_MYSQL_ADMIN_URL: MYSQL_URL!,
        ROTOR_MYSQL_STRATEGY: strategy,
        ROTOR_MYSQL_TLS: process.env.ROTOR_TEST_MYSQL_TLS ?? 'require',
      });
      expect(r.stdout + r.stderr).toMatch(/(\d+) of \1 checks passed/);
      expect(r.code).toBe(0);
    },
    120_000,
  );
});
