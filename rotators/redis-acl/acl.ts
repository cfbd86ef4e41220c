// The ACL commands the rotator sends to one node. Passwords travel only as SHA-256 hashes
// (`#<hash>` adds one, `!<hash>` removes one), so the cleartext never reaches a server, its
// ACL LOG or its aclfile, and every change is checked against ACL GETUSER first: applying or
// removing a password twice changes nothing and raises no error.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { replyCode } from './connection.js';

export function passwordHash(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex');
}

export interface AclUser {
  flags: string[];
  /** SHA-256 hex of each password the user has. */
  passwords: string[];
}

/** The user as ACL GETUSER reports it, or null when the node has no such user. */
export async function getUser(c: Redis, user: string): Promise<AclUser | null> {
  const reply = (await c.call('ACL', 'GETUSER', user)) as unknown[] | null;
  if (!reply) return null;
  const fields = new Map<string, unknown>();
  for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]);
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  return { flags: list(fields.get('flags')), passwords: list(fields.get('passwords')) };
}

/** Adds the password's hash unless the user has it already; true when it changed the node. */
export async function addPassword(c: Redis, user: string, password: string): Promise<boolean> {
  const hash = passwordHash(password);
  if ((await getUser(c, user))?.passwords.includes(hash)) return false;
  await c.call('ACL', 'SETUSER', user, `#${hash}`);
  return true;
}

/** Removes the password's hash if the user has it; true when it changed the node. */
export async function removePassword(c: Redis, user: string, password: string): Promise<boolean> {
  const hash = passwordHash(password);
  if (!(await getUser(c, user))?.passwords.includes(hash)) return false;
  await c.call('ACL', 'SETUSER', user, `!${hash}`);
  return true;
}

/** Removes every password hash of the user but `keepHash`; returns how many it removed. */
export async function removeOtherPasswords(c: Redis, user: string, keepHash: string): Promise<number> {
  const others = ((await getUser(c, user))?.passwords ?? []).filter((h) => h !== keepHash);
  if (others.length) await c.call('ACL', 'SETUSER', user, ...others.map((h) => `!${h}`));
  return others.length;
}

/**
 * Writes the node's users to its aclfile, when it has one: a node restarted without it would load
 * the old passwords back. Where CONFIG is forbidden to rotor, ACL SAVE is tried and a node
 * without an aclfile says so. Returns whether the node persisted (false: memory only).
 */
export async function persist(c: Redis): Promise<boolean> {
  let aclfile: string | undefined;
  try {
    const reply = (await c.call('CONFIG', 'GET', 'aclfile')) as unknown[];
    aclfile = String(reply[1] ?? '');
  } catch (err) {
    if (replyCode(err) !== 'NOPERM' && !/unknown command|disabled/i.test((err as Error).message)) throw err;
  }
  if (aclfile === '') return false;
  try {
    await c.call('ACL', 'SAVE');
    return true;
  } catch (err) {
    if (aclfile === undefined && /not configured to use an ACL file/i.test((err as Error).message)) return false;
    throw err;
  }
}

/** Connections logged in as `user`. Redis before 7.2 has no USER filter: the whole list is read then. */
export async function countClients(c: Redis, user: string): Promise<number> {
  let text: string;
  try {
    text = String(await c.call('CLIENT', 'LIST', 'USER', user));
  } catch (err) {
    if (replyCode(err) !== 'ERR') throw err;
    text = String(await c.call('CLIENT', 'LIST'));
  }
  return text.split('\n').filter((line) => line.split(' ').includes(`user=${user}`)).length;
}

/** Closes every connection logged in as `user`; returns how many. */
export async function killClients(c: Redis, user: string): Promise<number> {
  return Number(await c.call('CLIENT', 'KILL', 'USER', user));
}
