// Where a secret's credentials live: the admin endpoint, the address consumers use, and the
// credential values the store hands back, checked before anything is sent to the server.
import { PermanentError } from '../../src/errors.js';
import { trackSecret } from '../../src/redact.js';
import type { RotatorContext, SecretValue } from '../../src/rotator/contract.js';
import { parseAdminUrl, type Endpoint, type TlsMode } from './connection.js';
import { managedUsers, tlsFor, type MysqlParams } from './schema.js';

export type Ctx = RotatorContext<MysqlParams>;

export interface Target {
  admin: Endpoint;
  host: string;
  port: number;
  database: string | undefined;
  /** TLS for the connections a consumer would make (verify, login probes). */
  tls: TlsMode;
}

/** A database credential as the store keeps it (AWS's rotation template layout). */
export type Credential = {
  engine: 'mysql';
  host: string;
  port: number;
  dbname?: string;
  username: string;
  password: string;
};

export async function resolveTarget(ctx: Ctx): Promise<Target> {
  const { target } = ctx.params;
  const url = await ctx.resolveRef(target.admin);
  trackSecret(url);
  const admin = parseAdminUrl(url);
  const host = target.host ?? admin.host;
  return {
    admin: { ...admin, database: undefined, tls: tlsFor(ctx.params, admin.host) },
    host,
    port: target.port ?? admin.port,
    database: target.database,
    tls: tlsFor(ctx.params, host),
  };
}

/** Reads a credential from a stored value. Refuses a user the policy does not name. */
export function credentialOf(ctx: Ctx, t: Target, value: SecretValue): Credential {
  const { username, password } = value;
  if (typeof username !== 'string' || !username) throw new PermanentError(`${ctx.secretId}: the stored credential has no username`);
  if (typeof password !== 'string' || !password)
    throw new PermanentError(`${ctx.secretId}: the stored credential for ${username} has no password`);
  trackSecret(password);
  assertManaged(ctx, username);
  const host = typeof value.host === 'string' && value.host ? value.host : t.host;
  const port = Number(value.port ?? t.port);
  const dbname = typeof value.dbname === 'string' && value.dbname ? value.dbname : t.database;
  return {
    engine: 'mysql',
    host,
    port: Number.isInteger(port) && port > 0 ? port : t.port,
    ...(dbname ? { dbname } : {}),
    username,
    password,
  };
}

/** The endpoint a consumer of `cred` would connect to. */
export function endpointOf(t: Target, cred: Credential): Endpoint {
  return { host: cred.host, port: cred.port, user: cred.username, password: cred.password, database: cred.dbname, tls: t.tls };
}

export function assertManaged(ctx: Ctx, username: string): void {
  const managed = managedUsers(ctx.params);
  if (managed.includes(username)) return;
  throw new PermanentError(
    `${ctx.secretId}: the stored credential is for user ${username}, which the policy does not name (it names ${managed.join(', ')})`,
    {
      hint: 'rotor changes only the users a policy names. Put the user back in the policy, or store a current credential for one of the named users (rotor repair)',
    },
  );
}

/** The user the next credential is for: the one not in `current` (alternating), else the one user. */
export function nextUsername(ctx: Ctx, current: SecretValue | null): string {
  const { params } = ctx;
  if (params.strategy !== 'alternating-users') return params.target.user;
  const [first, second] = params.target.users;
  if (current === null) return first;
  const username = String(current.username ?? '');
  assertManaged(ctx, username);
  return username === first ? second : first;
}
