// The ldap rotator's encodings as bytes (what reaches the directory) and its transport defaults.
import { describe, expect, it } from 'vitest';
import { passwordModifyRequest, unicodePwd, withDisabled } from '../../../rotators/ldap/directory.js';
import { ldapParamsSchema, transportOf } from '../../../rotators/ldap/schema.js';

describe('ldap encodings', () => {
  it("unicodePwd is the password in double quotes, UTF-16LE (Active Directory's documented format)", () => {
    expect(unicodePwd('Ab1!').toString('hex')).toBe('2200410062003100210022' + '00');
  });

  it('Password Modify is SEQUENCE { [0] userIdentity, [2] newPasswd } with no oldPasswd (RFC 3062)', () => {
    expect(passwordModifyRequest('uid=a', 'pw').toString('hex')).toBe(
      '300b' + '8005' + Buffer.from('uid=a').toString('hex') + '8202' + '7077',
    );
  });

  it('userAccountControl: ACCOUNTDISABLE (0x2) set and cleared, other flags kept', () => {
    expect(withDisabled(0x200, true)).toBe(0x202);
    expect(withDisabled(0x202, false)).toBe(0x200);
    expect(withDisabled(0x10202, true)).toBe(0x10202);
  });
});

describe('ldap transport defaults', () => {
  const admin = { dn: 'cn=rotor,dc=x', password: 'env:P' };
  const parse = (target: object) => ldapParamsSchema.safeParse({ target: { admin, user: 'uid=a,dc=x', ...target } });

  it.each([
    ['ldaps://ldap.internal', undefined, 'ldaps'],
    ['ldap://ldap.internal', undefined, 'starttls'],
    ['ldap://127.0.0.1:3389', undefined, 'plain'],
    ['ldap://localhost', true, 'starttls'],
  ] as const)('%s (startTLS %s) is %s', (url, startTLS, want) => {
    expect(transportOf({ url, startTLS })).toBe(want);
  });

  it('refuses a URL with credentials or a path, a literal admin password, and revokeBy: disable outside AD', () => {
    expect(parse({ url: 'ldaps://cn=x:pw@ldap.internal' }).success).toBe(false);
    expect(parse({ url: 'ldaps://ldap.internal/dc=x' }).success).toBe(false);
    expect(parse({ url: 'https://ldap.internal' }).success).toBe(false);
    expect(
      ldapParamsSchema.safeParse({ target: { url: 'ldaps://l', admin: { dn: 'cn=r', password: 'hunter2' }, user: 'uid=a,dc=x' } }).success,
    ).toBe(false);
    expect(parse({ url: 'ldaps://ldap.internal', revokeBy: 'disable' }).success).toBe(false);
    expect(parse({ url: 'ldaps://ldap.internal', revokeBy: 'disable', directory: 'active-directory' }).success).toBe(true);
  });
});
