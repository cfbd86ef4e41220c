// The ldap rotator against a private slapd (test/helpers/slapd-server.ts): the conformance suite in
// both modes, over LDAPS and StartTLS with the server's CA; the transport defaults (an untrusted
// certificate is refused, plain LDAP only to loopback); the directory's password policy reported as
// what to fix; preflight naming a missing account and a missing group membership. Every bind is a
// real ldapts bind.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, UnavailableError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { Attribute, Change, Client } from 'ldapts';
import { describeConformance } from '../../../src/rotator/conformance-vitest.js';
import type { RotatorContext, SecretValue } from '../../../src/rotator/contract.js';
import ldapRotator, { ldapParamsSchema, type LdapParams } from '../../../rotators/ldap/index.js';
import { rotor } from '../../helpers/cli.js';
import { startSlapd, STRICT_POLICY_DN, type SlapdHandle } from '../../helpers/slapd-server.js';

let slapd: SlapdHandle;
const ready = startSlapd().then((s) => (slapd = s));

beforeAll(async () => {
  await ready;
});

afterAll(async () => {
  await slapd?.stop();
});

const refs = (s: SlapdHandle) => async (ref: string) => (ref === 'env:LDAP_CA' ? s.ca : s.admin.password);
const admin = () => ({ dn: slapd.admin.dn, password: 'env:LDAP_ADMIN' });

function ctx(params: unknown, secretId = 'ldap/test'): RotatorContext<LdapParams> {
  return {
    secretId,
    runId: 'run-1',
    params: ldapParamsSchema.parse(params),
    resolveRef: refs(slapd),
    log: silentLogger,
    signal: new AbortController().signal,
  };
}

/** Passwords an operator set on `dns` before rotor (a plain modify of userPassword as the admin). */
async function byHand(s: SlapdHandle, dns: string[]): Promise<SecretValue[]> {
  const c = new Client({ url: s.url });
  try {
    await c.bind(s.admin.dn, s.admin.password);
    const out: SecretValue[] = [];
    for (const dn of dns) {
      const password = `by-hand-${randomBytes(9).toString('hex')}`;
      await c.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'userPassword', values: [password] }) }));
      out.push({ url: s.url, username: dn, password });
    }
    return out;
  } finally {
    await c.unbind();
  }
}

describeConformance('ldap (alternating accounts, LDAPS)', ldapRotator, async () => {
  const s = await ready;
  const id = randomBytes(3).toString('hex');
  const accounts = [await s.addAccount(`conf-a-${id}`, randomBytes(12).toString('hex')), await s.addAccount(`conf-b-${id}`, 'x')];
  const group = await s.addGroup(`conf-${id}`, accounts);
  return {
    params: { strategy: 'alternating-accounts', target: { url: s.ldapsUrl, ca: 'env:LDAP_CA', admin: admin(), accounts, group } },
    resolveRef: refs(s),
    inherited: () => byHand(s, accounts),
  };
});

describeConformance('ldap (single user, StartTLS)', ldapRotator, async () => {
  const s = await ready;
  const user = await s.addAccount(`conf-s-${randomBytes(3).toString('hex')}`, randomBytes(12).toString('hex'));
  return {
    params: {
      strategy: 'single-user',
      target: { url: `ldap://localhost:${s.port}`, startTLS: true, ca: 'env:LDAP_CA', admin: admin(), user },
    },
    resolveRef: refs(s),
    inherited: () => byHand(s, [user]),
  };
});

describe('ldap transport', () => {
  it('LDAPS without the CA: the certificate is refused, with what to set', async () => {
    const user = await slapd.addAccount('tls-untrusted', 'x');
    const c = ctx({ target: { url: slapd.ldapsUrl, admin: admin(), user } });
    const err = await ldapRotator.preflight!(c, null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).hint).toContain('set ca');
  });

  it('plain ldap:// is the default only to loopback; elsewhere StartTLS, or insecure: true to opt out', () => {
    const parse = (target: object) => ldapParamsSchema.safeParse({ target: { admin: admin(), user: 'uid=a,dc=x', ...target } });
    expect(parse({ url: 'ldap://127.0.0.1:389' }).success).toBe(true);
    expect(parse({ url: 'ldap://ldap.internal' }).success).toBe(true); // StartTLS by default
    const plain = parse({ url: 'ldap://ldap.internal', startTLS: false });
    expect(plain.success).toBe(false);
    expect(JSON.stringify(plain.error?.issues)).toContain('insecure: true');
    expect(parse({ url: 'ldap://ldap.internal', startTLS: false, insecure: true }).success).toBe(true);
  });

  it('StartTLS to a server with the CA works; plain to loopback works as the default', async () => {
    const user = await slapd.addAccount('tls-plain', 'x');
    await ldapRotator.preflight!(ctx({ target: { url: slapd.url, admin: admin(), user } }), null);
    await ldapRotator.preflight!(
      ctx({ target: { url: `ldap://localhost:${slapd.port}`, startTLS: true, ca: 'env:LDAP_CA', admin: admin(), user } }),
      null,
    );
  });
});

describe('ldap directory errors', () => {
  it("the directory's password policy refusing the new password is reported as what to fix", async () => {
    const user = await slapd.addAccount('strict', 'x', { policy: STRICT_POLICY_DN });
    const c = ctx({ target: { url: slapd.ldapsUrl, ca: 'env:LDAP_CA', admin: admin(), user } });
    const next = await ldapRotator.generate(c, null);
    const err = await ldapRotator.apply(c, next, null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toContain(
      'password policy refused the new password: Password fails quality checking policy (LDAP result 19)',
    );
    expect((err as PermanentError).hint).toContain('pwdMinLength');
    expect((err as Error).message).not.toContain(String(next.password));
    expect(await slapd.bind(user, String(next.password))).toBe(49);
  });

  it('preflight names an account that does not exist and one that is not in the group', async () => {
    const a = await slapd.addAccount('pf-a', 'x');
    const b = await slapd.addAccount('pf-b', 'x');
    const group = await slapd.addGroup('pf', [a]);
    const c = ctx({
      strategy: 'alternating-accounts',
      target: { url: slapd.url, admin: admin(), accounts: [b, slapd.dn('pf-missing')], group },
    });
    const err = await ldapRotator.preflight!(c, null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toContain(`account ${slapd.dn('pf-missing')} does not exist`);
    expect((err as Error).message).toContain(`account ${b} is not a member (member or uniqueMember) of ${group}`);
  });

  it('an admin password the directory refuses is permanent, naming the admin', async () => {
    const user = await slapd.addAccount('bad-admin', 'x');
    const c = { ...ctx({ target: { url: slapd.url, admin: admin(), user } }), resolveRef: async () => 'wrong-password' };
    const err = await ldapRotator.preflight!(c, null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toContain(`as ${slapd.admin.dn}`);
    expect((err as Error).message).toContain('LDAP result 49');
  });
});

describe('ldap and a directory that goes away', () => {
  it('a crashed slapd is unavailable (the engine retries); after a restart the same credential binds', async () => {
    const user = await slapd.addAccount('restart', 'x');
    const c = ctx({ target: { url: slapd.url, admin: admin(), user } });
    const next = await ldapRotator.generate(c, null);
    await ldapRotator.apply(c, next, null);
    await slapd.kill();
    const err = await ldapRotator.verify(c, next).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    await slapd.restart();
    await ldapRotator.verify(c, next);
  });
});

describe('rotor conformance ldap', () => {
  it('passes every check for an alternating-accounts policy over LDAPS, from a parameter file', async () => {
    const accounts = [await slapd.addAccount('cli-a', randomBytes(12).toString('hex')), await slapd.addAccount('cli-b', 'x')];
    const group = await slapd.addGroup('cli', accounts);
    const dir = mkdtempSync(join(tmpdir(), 'rotor-ldap-conformance-'));
    try {
      const file = join(dir, 'ldap.yaml');
      writeFileSync(
        file,
        `strategy: alternating-accounts
target:
  url: ${slapd.ldapsUrl}
  ca: env:LDAP_CA
  admin: { dn: '${slapd.admin.dn}', password: env:LDAP_ADMIN }
  accounts: ['${accounts[0]}', '${accounts[1]}']
  group: '${group}'
`,
      );
      const r = await rotor(['conformance', 'ldap', '--params', file], { LDAP_ADMIN: slapd.admin.password, LDAP_CA: slapd.ca });
      // A parameter file cannot set up what the directory had before rotor: that one check is said not to have run.
      expect(r.stdout + r.stderr).toMatch(/(\d+) of \d+ checks passed, 1 not run/);
      expect(r.stdout).toContain('not run: the harness gives no inherited()');
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toContain(slapd.admin.password);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
