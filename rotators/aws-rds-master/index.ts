// The aws-rds-master rotator: the master password of an RDS instance or Aurora cluster, set with
// ModifyDBInstance / ModifyDBCluster (ApplyImmediately), waited for with a bounded poll until RDS
// reports it applied, and verified by logging in. One credential: the old password stops working
// when RDS applies the new one, so `plan` flags it (traits.overlap = false).
import { PermanentError } from '../../src/errors.js';
import { trackSecret } from '../../src/redact.js';
import { implementRotator, type RotatorContext, type SecretValue } from '../../src/rotator/contract.js';
import descriptor from './descriptor.js';
import { isAuthFailure, isMysqlEngine, login, loginError, type LoginTarget } from './login.js';
import { generatePassword } from '../../src/rotator/password.js';
import { describeDb, setMasterPassword, waitUntilApplied, type DbFacts } from './rds.js';
import { VERIFIABLE_ENGINES, rdsPasswordRules, type AwsRdsMasterParams } from './schema.js';

export { awsRdsMasterParamsSchema, type AwsRdsMasterParams } from './schema.js';

type Ctx = RotatorContext<AwsRdsMasterParams>;

export default implementRotator<AwsRdsMasterParams>(descriptor, {
  async preflight(ctx, current) {
    const facts = await describeDb(ctx.params.target, ctx.log);
    const engine = ctx.params.target.engine ?? facts.engine;
    if (!(VERIFIABLE_ENGINES as readonly string[]).includes(engine)) {
      throw new PermanentError(
        `${ctx.secretId}: RDS ${facts.kind} ${facts.id} runs ${engine}; rotor can verify master passwords of PostgreSQL and MySQL engines only`,
        {
          hint: `supported engines: ${VERIFIABLE_ENGINES.join(', ')}; nothing was changed`,
        },
      );
    }
    if (facts.managedByRds) {
      throw new PermanentError(
        `${ctx.secretId}: RDS manages the master password of ${facts.kind} ${facts.id} in Secrets Manager itself (ManageMasterUserPassword)`,
        {
          hint: 'let RDS rotate it, or turn that off (--no-manage-master-user-password) before rotor takes over; nothing was changed',
        },
      );
    }
    if (facts.clusterId) {
      throw new PermanentError(
        `${ctx.secretId}: instance ${facts.id} belongs to Aurora cluster ${facts.clusterId}, whose master password is the cluster's`,
        {
          hint: `write target.clusterId: ${facts.clusterId} instead of target.instanceId`,
        },
      );
    }
    if (current) {
      trackSecret(current);
      if (current.username !== undefined && current.username !== facts.masterUsername) {
        throw new PermanentError(
          `${ctx.secretId}: the CURRENT credential is for ${String(current.username)}, but the master user of ${facts.kind} ${facts.id} is ${facts.masterUsername}`,
          {
            hint: "point the policy at the secret that holds this database's master credential; nothing was changed",
          },
        );
      }
    }
  },

  async generate(ctx, current) {
    const facts = await describeDb(ctx.params.target, ctx.log);
    const password = generatePassword(rdsPasswordRules(ctx.params.generate));
    trackSecret(password);
    const t = ctx.params.target;
    const engine = t.engine ?? facts.engine;
    const dbname = t.database ?? facts.dbName ?? (isMysqlEngine(engine) ? undefined : 'postgres');
    // The layout of AWS's rotation templates and of RDS's own secrets; fields rotor does not own are kept.
    const value: Record<string, string | number> = {
      ...(current ?? {}),
      engine,
      host: t.host ?? facts.host ?? '',
      port: t.port ?? facts.port ?? defaultPort(engine),
      username: facts.masterUsername,
      password,
      ...(dbname ? { dbname } : {}),
      [facts.kind === 'cluster' ? 'dbClusterIdentifier' : 'dbInstanceIdentifier']: facts.id,
    };
    return value;
  },

  async apply(ctx, next) {
    await makeMasterPassword(ctx, next, 'the new master password');
  },

  async verify(ctx, value) {
    const t = await loginTarget(ctx, value);
    let who: string | undefined;
    try {
      who = await login(t, ctx.signal);
    } catch (err) {
      if (!isAuthFailure(err))
        throw loginError(`${ctx.secretId}: could not verify the master credential at ${t.host}:${t.port}/${t.database}`, err);
      // Not permanent: RDS may report the change applied a moment before the server accepts it.
      throw new Error(`${ctx.secretId}: ${t.host}:${t.port}/${t.database} refused the master credential for ${t.user}`);
    }
    if (who !== t.user) throw new Error(`${ctx.secretId}: logging in as ${t.user} gave current_user ${who ?? '(none)'}`);
  },

  async revoke(ctx, revoke, keep) {
    // One master password: revoking one credential means the other one is what RDS has applied.
    if (keep) return makeMasterPassword(ctx, keep, 'the master password to keep');
    // The undo of a first rotation's password (invariant 8): nothing of rotor's stays. The password
    // from before rotor was replaced when this one was applied, so a password nobody knows takes its
    // place, never stored (set yours again with ModifyDB*). One RDS never applied is left as it was.
    const facts = await waitUntilApplied(ctx.params.target, ctx.log, ctx.signal);
    if (!(await canLogin(ctx, revoke, facts))) return;
    const unknown = generatePassword(rdsPasswordRules(ctx.params.generate));
    trackSecret(unknown);
    await makeMasterPassword(ctx, { ...revoke, password: unknown }, "a password nobody knows, in place of the first rotation's");
  },
});

/**
 * Makes `value` the applied master password. Idempotent: when RDS has nothing pending and `value`
 * logs in, nothing is sent. A change still pending from an earlier, interrupted attempt is waited
 * out first and then overridden, so a password nobody tracks is never what RDS ends up with.
 */
async function makeMasterPassword(ctx: Ctx, value: SecretValue, what: string): Promise<void> {
  const t = ctx.params.target;
  const facts = await waitUntilApplied(t, ctx.log, ctx.signal);
  if (await canLogin(ctx, value, facts)) {
    ctx.log.info({ rds: `${facts.kind}/${facts.id}` }, `${what} already works; nothing to apply`);
    return;
  }
  await setMasterPassword(t, String(value.password), ctx.log);
  ctx.log.info({ rds: `${facts.kind}/${facts.id}` }, `${what} sent to RDS; waiting until it is applied`);
  await waitUntilApplied(t, ctx.log, ctx.signal);
}

/** The engine's usual port, when neither the policy, the stored value nor RDS names one. */
function defaultPort(engine: string): number {
  return isMysqlEngine(engine) ? 3306 : 5432;
}

async function loginTarget(ctx: Ctx, value: SecretValue, known?: DbFacts): Promise<LoginTarget> {
  const t = ctx.params.target;
  const needFacts = !(t.host ?? value.host) || !(t.port ?? value.port) || !(t.engine ?? value.engine);
  const facts = known ?? (needFacts ? await describeDb(t, ctx.log) : undefined);
  const host = t.host ?? (value.host ? String(value.host) : facts?.host);
  if (!host) throw new PermanentError(`${ctx.secretId}: RDS reports no endpoint yet and the policy names no target.host`);
  const engine = t.engine ?? (value.engine ? String(value.engine) : (facts?.engine ?? 'postgres'));
  const mysqlFamily = isMysqlEngine(engine);
  return {
    engine,
    host,
    port: Number(t.port ?? value.port ?? facts?.port ?? defaultPort(engine)),
    database: t.database ?? String(value.dbname ?? facts?.dbName ?? (mysqlFamily ? '' : 'postgres')),
    user: String(value.username ?? facts?.masterUsername ?? ''),
    password: String(value.password ?? ''),
    sslmode: t.sslmode,
  };
}

/** True when `value` logs in; false when the server refuses it; throws when it cannot be asked. */
async function canLogin(ctx: Ctx, value: SecretValue, facts: DbFacts): Promise<boolean> {
  const t = await loginTarget(ctx, value, facts);
  try {
    await login(t, ctx.signal);
    return true;
  } catch (err) {
    if (isAuthFailure(err)) return false;
    throw loginError(`${ctx.secretId}: could not reach ${t.host}:${t.port}/${t.database} to try a master credential`, err);
  }
}
