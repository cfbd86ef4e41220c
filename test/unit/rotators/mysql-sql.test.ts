// The mysql rotator's statements as text (MySQL 8's dual password cannot run here: its SQL is
// checked as written), server detection and refusals, and what validate says about bad params.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../../src/cli/exit-codes.js';
import { runValidate } from '../../../src/cli/validate.js';
import { classify } from '../../../rotators/mysql/connection.js';
import { unsupported } from '../../../rotators/mysql/preflight.js';
import { mysqlParamsSchema, tlsFor } from '../../../rotators/mysql/schema.js';
import {
  account,
  createUser,
  grant,
  mariadbChain,
  mysqlDiscard,
  mysqlRandomPassword,
  mysqlRetain,
  mysqlSetPassword,
  nativeHash,
  parseServer,
  setDefaultRole,
  unusableHash,
} from '../../../rotators/mysql/sql.js';
import { PermanentError, UnavailableError } from '../../../src/errors.js';
import { textSink } from '../../helpers/sink.js';

const mysql8 = parseServer('8.0.36');
const mariadb = parseServer('10.11.19-MariaDB-0+deb12u1');
const acct = account('app', '%');

describe('mysql rotator statements', () => {
  it("hashes as mysql_native_password does (PASSWORD('aaa') on MariaDB 10.11)", () => {
    expect(nativeHash('aaa')).toBe('*A02AA727CF2E8C5E6F07A382910C4028D65A053A');
    expect(unusableHash()).toMatch(/^\*[0-9A-F]{40}$/);
    expect(unusableHash()).not.toBe(unusableHash());
  });

  it("writes MariaDB's authentication chain from hashes only", () => {
    expect(acct).toBe("'app'@'%'");
    const [a, b] = [nativeHash('one'), nativeHash('two')];
    expect(mariadbChain(acct, [a, b])).toBe(
      `ALTER USER 'app'@'%' IDENTIFIED VIA mysql_native_password USING '${a}' OR mysql_native_password USING '${b}'`,
    );
    expect(() => mariadbChain(acct, ['cleartext'])).toThrow('not a mysql_native_password hash');
    expect(() => mariadbChain(acct, [])).toThrow();
  });

  it("writes MySQL 8's dual password: RETAIN CURRENT PASSWORD, then DISCARD OLD PASSWORD", () => {
    expect(mysqlRetain(acct, 'n3w-pw')).toBe("ALTER USER 'app'@'%' IDENTIFIED BY 'n3w-pw' RETAIN CURRENT PASSWORD");
    expect(mysqlDiscard(acct)).toBe("ALTER USER 'app'@'%' DISCARD OLD PASSWORD");
    expect(mysqlRandomPassword(acct)).toBe("ALTER USER 'app'@'%' IDENTIFIED BY RANDOM PASSWORD");
    // A literal with a quote or backslash stays one literal.
    expect(mysqlRetain(acct, "a'b\\c")).toBe("ALTER USER 'app'@'%' IDENTIFIED BY 'a\\'b\\\\c' RETAIN CURRENT PASSWORD");
  });

  it('sends MySQL a hash for mysql_native_password accounts, the cleartext only for caching_sha2_password', () => {
    expect(mysqlSetPassword(acct, 'mysql_native_password', 'aaa')).toBe(
      "ALTER USER 'app'@'%' IDENTIFIED WITH mysql_native_password AS '*A02AA727CF2E8C5E6F07A382910C4028D65A053A'",
    );
    expect(mysqlSetPassword(acct, 'caching_sha2_password', 'aaa')).toBe("ALTER USER 'app'@'%' IDENTIFIED BY 'aaa'");
  });

  it("speaks each flavor's role and provisioning syntax", () => {
    expect(setDefaultRole(mariadb, 'app_role', acct)).toBe("SET DEFAULT ROLE 'app_role' FOR 'app'@'%'");
    expect(setDefaultRole(mysql8, 'app_role', acct)).toBe("SET DEFAULT ROLE 'app_role' TO 'app'@'%'");
    expect(createUser(mariadb, acct)).toMatch(
      /^CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED VIA mysql_native_password USING '\*[0-9A-F]{40}'$/,
    );
    expect(createUser(mysql8, acct)).toBe("CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY RANDOM PASSWORD");
    expect(grant(['SELECT', 'INSERT'], 'app.orders', "'app_role'")).toBe("GRANT SELECT, INSERT ON `app`.`orders` TO 'app_role'");
    expect(grant(['SELECT'], 'app.*', acct)).toBe("GRANT SELECT ON `app`.* TO 'app'@'%'");
  });
});

describe('server detection', () => {
  const params = (strategy: string, extra: object = {}) =>
    mysqlParamsSchema.parse({
      strategy,
      target: { admin: 'env:A', ...(strategy === 'alternating-users' ? { users: ['a', 'b'], role: 'r' } : { user: 'app' }), ...extra },
    });

  it('reads the flavor and version', () => {
    expect(mariadb).toMatchObject({ flavor: 'mariadb', version: [10, 11, 19] });
    expect(parseServer('5.5.5-10.6.12-MariaDB-log')).toMatchObject({ flavor: 'mariadb', version: [10, 6, 12] });
    expect(mysql8).toMatchObject({ flavor: 'mysql', version: [8, 0, 36] });
  });

  it('refuses what the server cannot do, saying why', () => {
    expect(unsupported(mariadb, params('dual-password'), 'disable')).toBeUndefined();
    expect(unsupported(mysql8, params('dual-password'), 'require')).toBeUndefined();
    expect(unsupported(parseServer('8.0.13'), params('dual-password'), 'require')?.what).toContain(
      'no dual passwords (RETAIN CURRENT PASSWORD came in 8.0.14)',
    );
    expect(unsupported(parseServer('8.0.13'), params('alternating-users'), 'require')).toBeUndefined();
    expect(unsupported(mysql8, params('dual-password'), 'disable')?.what).toContain('takes only a cleartext password');
    expect(unsupported(parseServer('5.7.44'), params('single-user'), 'require')?.what).toContain('older than 8.0');
    expect(unsupported(parseServer('10.3.39-MariaDB'), params('dual-password'), 'disable')?.what).toContain('older than 10.4');
  });

  it('defaults to dual-password, TLS off loopback and account host %', () => {
    const p = mysqlParamsSchema.parse({ target: { admin: 'env:A', user: 'app' } });
    expect(p).toMatchObject({ strategy: 'dual-password', target: { accountHost: '%', provision: false } });
    expect(tlsFor(p, '127.0.0.1')).toBe('disable');
    expect(tlsFor(p, 'db.internal')).toBe('require');
    expect(tlsFor(params('single-user', { tls: 'verify-full' }), '127.0.0.1')).toBe('verify-full');
  });

  it('classifies errors without repeating the statement', () => {
    const parse = Object.assign(
      new Error("You have an error in your SQL syntax; check the manual near 'IDENTIFIED BY 'secret-pw' RETAIN' at line 1"),
      { errno: 1064 },
    );
    const err = classify('applying', parse);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).not.toContain('secret-pw');
    expect(classify('x', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBeInstanceOf(UnavailableError);
    expect(classify('x', new SyntaxError('a bug'))).not.toBeInstanceOf(UnavailableError);
  });
});

describe('rotor validate on mysql secrets', () => {
  it('exits 2 with file:line:col for a bad strategy, names that need quoting and an unknown aws-rds-master engine', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-mysql-validate-'));
    writeFileSync(
      join(dir, 'p.yaml'),
      [
        'secrets:',
        '  - id: db/a',
        '    rotator: mysql',
        '    strategy: dual-passwords',
        '    target: { admin: env:A, user: app }',
        '  - id: db/b',
        '    rotator: mysql',
        '    target:',
        '      admin: env:A',
        '      user: "app-user"',
        '  - id: db/c',
        '    rotator: mysql',
        '    strategy: alternating-users',
        '    target: { admin: env:A, users: [a, b], role: "r`x", accountHost: "10.0.0.1\'" }',
        '  - id: db/d',
        '    rotator: aws-rds-master',
        '    target: { instanceId: shop, engine: oracle-ee }',
        '',
      ].join('\n'),
    );
    const s = textSink();
    expect(await runValidate({ dir, out: s.out })).toBe(EXIT.USAGE);
    const text = s.text();
    expect(text).toMatch(/p\.yaml:4:15: \[db\/a\] `strategy` must be one of dual-password, alternating-users, single-user/);
    expect(text).toMatch(/p\.yaml:10:13: \[db\/b\] `target\.user` must be a MySQL user or role name that needs no quoting/);
    expect(text).toMatch(/p\.yaml:14:\d+: \[db\/c\] `target\.role` must be a MySQL user or role name/);
    expect(text).toMatch(/p\.yaml:14:\d+: \[db\/c\] `target\.accountHost` must be an account host/);
    expect(text).toMatch(
      /p\.yaml:17:\d+: \[db\/d\] `target\.engine` must be one of postgres, aurora-postgresql, mysql, mariadb, aurora-mysql/,
    );
  });
});
