// Where a secret's credentials live: the admin endpoint, the address consumers use, and the
// credential values the store hands back, checked before anything is sent to the server.
import { PermanentError } from '../../src/errors.js';
import { trackSecret } from '../../src/redact.js';
import type { RotatorContext, SecretValue } from '../../src/rotator/contract.js';
import { defaultSslMode, parseAdminUrl, type Endpoint, type SslMode } from './connection.js';
import { loginRoles, type PostgresParams } from './schema.js';

export interface Target {
  /** rotor's admin connection, to the secret's database (catalog checks are per database). */
  admin: Endpoint;
  host: string;
  port: number;
  database: string;
  /** TLS for the connections a consumer would make (verify, the login probe). */
  sslmode: SslMode;
}

/** A database credential as the store keeps it (AWS's rotation template layout). */
export type Credential = {
  engine: 'postgres';
  host: string;
  port: number;
  dbname: string;
  username: string;
  password: string;
};

export async function resolveTarget(ctx: RotatorContext<PostgresParams>): Promise<Target> {
  const { target } = ctx.params;
  const url = await ctx.resolveRef(target.admin);
  trackSecret(url);
  const parsed = parseAdminUrl(url, undefined);
  const host = target.host ?? parsed.host;
  // The admin URL's own sslmode wins for the admin connection, as in libpq; else the policy's, else the default for its host.
  const admin = { ...parsed, sslmode: parsed.sslmode ?? defaultSslMode(target.sslmode, parsed.host), database: target.database };
  return {
    admin,
    host,
    port: target.port ?? parsed.port,
    database: target.database,
    sslmode: defaultSslMode(target.sslmode, host),
  };
}

/**
 * Reads a credential from a stored value, filling host, port and database from the target when the
 * value lacks them. Refuses a role the policy does not name: rotor never changes any other role.
 */
export function credentialOf(ctx: RotatorContext<PostgresParams>, t: Target, value: SecretValue): Credential {
  const { username, password } = value;
  if (typeof username !== 'string' || !username) throw new PermanentError(`${ctx.secretId}: the stored credential has no username`);
  if (typeof password !== 'string' || !password)
    throw new PermanentError(`${ctx.secretId}: the stored credential for ${username} has no password`);
  trackSecret(password);
  assertManaged(ctx, username);
  const host = typeof value.host === 'string' && value.host ? value.host : t.host;
  const port = Number(value.port ?? t.port);
  const dbname = typeof value.dbname === 'string' && value.dbname ? value.dbname : t.database;
  return { engine: 'postgres', host, port: Number.isInteger(port) && port > 0 ? port : t.port, dbname, username, password };
}

/** The endpoint a consumer of `cred` would connect to. */
export function endpointOf(t: Target, cred: Credential): Endpoint {
  return { host: cred.host, port: cred.port, database: cred.dbname, user: cred.username, password: cred.password, sslmode: t.sslmode };
}

export function assertManaged(ctx: RotatorContext<PostgresParams>, username: string): void {
  const managed = loginRoles(ctx.params);
  if (managed.includes(username)) return;
  throw new PermanentError(
    `${ctx.secretId}: the stored credential is for role ${username}, which the policy does not name (it names ${managed.join(', ')})`,
    {
      hint: 'rotor changes only the roles a policy names. Put the role back in the policy, or store a current credential for one of the named roles (rotor repair)',
    },
  );
}

/** The role the next credential is for: the user not in `current` (alternating), else the one user. */
export function nextUsername(ctx: RotatorContext<PostgresParams>, current: SecretValue | null): string {
  const { params } = ctx;
  if (params.strategy === 'single-user') return params.target.user;
  const [first, second] = params.target.users;
  if (current === null) return first;
  const username = String(current.username ?? '');
  assertManaged(ctx, username);
  return username === first ? second : first;
}
