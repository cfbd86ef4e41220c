// What the rotator asks of the directory, one function each: set a password (OpenLDAP's Password
// Modify extended operation, Active Directory's unicodePwd), enable or disable an AD account, and
// read entries and group membership. Encodings are pure functions (unit-tested as bytes).
import { Attribute, BerWriter, Change, escapeFilter, NoSuchObjectError, type Client } from 'ldapts';

/** RFC 3062's Password Modify extended operation. */
export const PASSWORD_MODIFY_OID = '1.3.6.1.4.1.4203.1.11.1';

/** ADS_UF_ACCOUNTDISABLE in userAccountControl. */
export const ACCOUNTDISABLE = 0x2;

/**
 * The request value of Password Modify: `SEQUENCE { userIdentity [0], newPasswd [2] }`. No
 * oldPasswd: the admin resets it. The server hashes newPasswd with its own scheme (olcPasswordHash)
 * and applies its password policy, so no cleartext userPassword is ever stored.
 */
export function passwordModifyRequest(dn: string, password: string): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeString(dn, 0x80);
  w.writeString(password, 0x82);
  w.endSequence();
  return w.buffer;
}

/** Active Directory's unicodePwd value: the password in double quotes, UTF-16LE. */
export function unicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

/** Sets `dn`'s password as the admin bound on `c`: a reset, which needs no old password. */
export async function setPassword(c: Client, directory: 'openldap' | 'active-directory', dn: string, password: string): Promise<void> {
  if (directory === 'openldap') {
    await c.exop(PASSWORD_MODIFY_OID, passwordModifyRequest(dn, password));
    return;
  }
  // A replace is an administrative reset (Reset Password right); delete+add would be a user change.
  await c.modify(
    dn,
    new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd(password)] }) }),
  );
}

/** userAccountControl with ACCOUNTDISABLE set or cleared; unchanged when it already is. */
export function withDisabled(uac: number, disabled: boolean): number {
  return disabled ? uac | ACCOUNTDISABLE : uac & ~ACCOUNTDISABLE;
}

/** Active Directory: disables or enables `dn`. Returns true when it changed anything. */
export async function setDisabled(c: Client, dn: string, disabled: boolean): Promise<boolean> {
  const { searchEntries } = await c.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: ['userAccountControl'] });
  const uac = Number(searchEntries[0]?.userAccountControl ?? NaN);
  if (!Number.isInteger(uac)) throw new Error(`${dn} has no userAccountControl: is it an Active Directory account?`);
  const wanted = withDisabled(uac, disabled);
  if (wanted === uac) return false;
  await c.modify(
    dn,
    new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [String(wanted)] }) }),
  );
  return true;
}

/** True when the admin can read the entry `dn`; false when there is none (or the admin may not see it). */
export async function entryExists(c: Client, dn: string): Promise<boolean> {
  try {
    const { searchEntries } = await c.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] });
    return searchEntries.length > 0;
  } catch (err) {
    if (err instanceof NoSuchObjectError) return false;
    throw err;
  }
}

/** True when `group` lists `dn` as a `member` or `uniqueMember`. */
export async function isMember(c: Client, group: string, dn: string): Promise<boolean> {
  try {
    const { searchEntries } = await c.search(group, {
      scope: 'base',
      filter: escapeFilter`(|(member=${dn})(uniqueMember=${dn}))`,
      attributes: ['1.1'],
    });
    return searchEntries.length > 0;
  } catch (err) {
    if (err instanceof NoSuchObjectError) return false;
    throw err;
  }
}
