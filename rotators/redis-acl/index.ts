// The redis-acl rotator: one ACL user with two passwords during grace. The new password is added
// next to the old one on every node the policy lists (ACLs are not replicated), checked on each,
// and the old one is removed from each after grace; aclfiles are saved where nodes use them.
import type { Redis } from 'ioredis';
import { PermanentError } from '../../src/errors.js';
import { trackSecret } from '../../src/redact.js';
import { implementRotator, type RotatorContext, type SecretValue } from '../../src/rotator/contract.js';
import descriptor from './descriptor.js';
import { generatePassword } from '../../src/rotator/password.js';
import { addPassword, countClients, getUser, killClients, passwordHash, persist, removeOtherPasswords, removePassword } from './acl.js';
import { canLogin, classify, nodeName, parseAdminUrl, withNode, type AdminLogin } from './connection.js';
import type { RedisAclParams, RedisNode } from './schema.js';

export { redisAclParamsSchema, type RedisAclParams } from './schema.js';
export { passwordHash } from './acl.js';

type Ctx = RotatorContext<RedisAclParams>;

/** A Redis credential as the store keeps it; host and port are the first node's. */
export type RedisCredential = { engine: 'redis'; host: string; port: number; username: string; password: string };

export default implementRotator<RedisAclParams>(descriptor, {
  async preflight(ctx, current) {
    if (current) credentialOf(ctx, current);
    const admin = await adminLogin(ctx);
    const problems: string[] = [];
    for (const node of ctx.params.target.nodes) {
      const u = await asAdmin(ctx, admin, node, 'reading the ACL user', (c) => getUser(c, ctx.params.target.user));
      if (!u) problems.push(`${nodeName(node)} has no ACL user ${ctx.params.target.user}`);
      else if (u.flags.includes('nopass'))
        problems.push(`${nodeName(node)}: user ${ctx.params.target.user} is nopass (any password logs in)`);
      else if (!u.flags.includes('on')) problems.push(`${nodeName(node)}: user ${ctx.params.target.user} is off`);
    }
    if (problems.length) {
      throw new PermanentError(`${ctx.secretId}: the Redis nodes are not set up for rotation: ${problems.join('; ')}`, {
        hint: `create the user with its permissions on every node (ACLs are not replicated), e.g. ACL SETUSER ${ctx.params.target.user} on ~app:* +@read +@write, and remove nopass`,
      });
    }
  },

  async generate(ctx) {
    const first = ctx.params.target.nodes[0] as RedisNode;
    const password = generatePassword(ctx.params.generate);
    trackSecret(password);
    const value: RedisCredential = { engine: 'redis', host: first.host, port: first.port, username: ctx.params.target.user, password };
    return value;
  },

  async apply(ctx, next) {
    const cred = credentialOf(ctx, next);
    const admin = await adminLogin(ctx);
    // Every node, every time: a worker that died half way left some nodes without the password,
    // and a node whose password is there may still lack the ACL SAVE.
    for (const node of ctx.params.target.nodes) {
      await asAdmin(ctx, admin, node, `adding a password to ${cred.username}`, async (c) => {
        const u = await getUser(c, cred.username);
        if (!u) throw missingUser(ctx, node);
        const added = await addPassword(c, cred.username, cred.password);
        const saved = await persist(c);
        ctx.log.info({ node: nodeName(node), user: cred.username, added, saved }, added ? 'password added' : 'password already present');
      });
    }
  },

  async verify(ctx, value) {
    const cred = credentialOf(ctx, value);
    const refused: string[] = [];
    for (const node of ctx.params.target.nodes) {
      if (!(await tryLogin(ctx, node, cred))) refused.push(nodeName(node));
    }
    if (refused.length) {
      throw new Error(
        `${ctx.secretId}: Redis refused the credential for ${cred.username} on ${refused.join(', ')} (WRONGPASS) of ${ctx.params.target.nodes.length} node(s)`,
      );
    }
  },

  async revoke(ctx, revoke, keep) {
    const gone = credentialOf(ctx, revoke);
    // keep null: the undo of a first rotation's password (invariant 8). Nothing of rotor's stays;
    // removing exactly this password's hash leaves the passwords the user had before rotor.
    const kept = keep ? credentialOf(ctx, keep) : null;
    if (gone.password === kept?.password) return;
    // Never leave a node where neither password works: the one kept must log in everywhere first.
    const refused: string[] = [];
    if (kept) for (const node of ctx.params.target.nodes) if (!(await tryLogin(ctx, node, kept))) refused.push(nodeName(node));
    if (refused.length) {
      throw new PermanentError(
        `${ctx.secretId}: refusing to remove a password of ${gone.username}: the credential to keep does not log in on ${refused.join(', ')}`,
        {
          hint: "compare the user's passwords on every node (ACL GETUSER) with the store before revoking anything",
        },
      );
    }
    const admin = await adminLogin(ctx);
    for (const node of ctx.params.target.nodes) {
      await asAdmin(ctx, admin, node, `removing a password of ${gone.username}`, async (c) => {
        const removed = await removePassword(c, gone.username, gone.password);
        const saved = await persist(c);
        ctx.log.info(
          { node: nodeName(node), user: gone.username, removed, saved },
          removed ? 'password removed' : 'password already absent',
        );
      });
    }
  },

  // The first rotation: the passwords the user had before rotor (set by hand, perhaps leaked) are
  // not in the store, so revoke cannot name them; they are every hash but the one rotor just set.
  async revokeInherited(ctx, keep) {
    const kept = credentialOf(ctx, keep);
    const refused: string[] = [];
    for (const node of ctx.params.target.nodes) if (!(await tryLogin(ctx, node, kept))) refused.push(nodeName(node));
    if (refused.length) {
      throw new PermanentError(
        `${ctx.secretId}: refusing to remove the passwords ${kept.username} had before rotor: rotor's credential does not log in on ${refused.join(', ')}`,
        {
          hint: "compare the user's passwords on every node (ACL GETUSER) with the store before revoking anything",
        },
      );
    }
    const admin = await adminLogin(ctx);
    const keepHash = passwordHash(kept.password);
    let removed = 0;
    for (const node of ctx.params.target.nodes) {
      await asAdmin(ctx, admin, node, `removing the passwords ${kept.username} had before rotor`, async (c) => {
        const n = await removeOtherPasswords(c, kept.username, keepHash);
        const saved = await persist(c);
        removed += n;
        ctx.log.info(
          { node: nodeName(node), user: kept.username, removed: n, saved },
          n ? 'inherited passwords removed' : 'no inherited password left',
        );
      });
    }
    return removed;
  },

  async inUse(ctx, value) {
    const cred = credentialOf(ctx, value);
    return sumOverNodes(ctx, `counting the connections of ${cred.username}`, (c) => countClients(c, cred.username));
  },

  async terminate(ctx, value) {
    const cred = credentialOf(ctx, value);
    const ended = await sumOverNodes(ctx, `closing the connections of ${cred.username}`, (c) => killClients(c, cred.username));
    ctx.log.info({ user: cred.username, terminated: ended }, 'connections closed');
    return ended;
  },
});

/** The credential's fields, checked: rotor never touches a user the policy does not name. */
function credentialOf(ctx: Ctx, value: SecretValue): RedisCredential {
  const { username, password } = value;
  if (typeof password !== 'string' || password === '') {
    throw new PermanentError(`${ctx.secretId}: the stored credential has no password field`, {
      hint: 'inspect the store location; rotor will not guess a credential',
    });
  }
  trackSecret(password);
  if (username !== ctx.params.target.user) {
    throw new PermanentError(
      `${ctx.secretId}: the stored credential is for user ${String(username)}, the policy names ${ctx.params.target.user}`,
      {
        hint: 'rotor changes only the user the policy names; fix the policy or the stored value',
      },
    );
  }
  return { ...(value as RedisCredential), username, password };
}

async function adminLogin(ctx: Ctx): Promise<AdminLogin> {
  const url = await ctx.resolveRef(ctx.params.target.admin);
  trackSecret(url);
  return parseAdminUrl(url);
}

function missingUser(ctx: Ctx, node: RedisNode): PermanentError {
  return new PermanentError(`${ctx.secretId}: ${nodeName(node)} has no ACL user ${ctx.params.target.user}`, {
    hint: 'ACLs are not replicated: create the user with its permissions on every node the policy lists',
  });
}

/** Runs `fn` as rotor's admin on one node; errors come out scrubbed and classed. */
async function asAdmin<T>(ctx: Ctx, admin: AdminLogin, node: RedisNode, what: string, fn: Parameters<typeof withNode<T>>[3]): Promise<T> {
  try {
    return await withNode(node, admin, ctx.signal, fn);
  } catch (err) {
    throw classify(`${ctx.secretId}: ${what} on ${nodeName(node)}`, err);
  }
}

/** Runs `fn` as admin on every node, one after the other, and adds up what it counted. */
async function sumOverNodes(ctx: Ctx, what: string, fn: (c: Redis) => Promise<number>): Promise<number> {
  const admin = await adminLogin(ctx);
  let total = 0;
  for (const node of ctx.params.target.nodes) total += await asAdmin(ctx, admin, node, what, fn);
  return total;
}

/** True when the credential logs in on the node; errors other than a refusal come out classed. */
async function tryLogin(ctx: Ctx, node: RedisNode, cred: RedisCredential): Promise<boolean> {
  try {
    return await canLogin(node, cred.username, cred.password, ctx.signal);
  } catch (err) {
    throw classify(`${ctx.secretId}: could not try ${cred.username}'s credential on ${nodeName(node)}`, err);
  }
}
