// The RDS side of a master password: what an instance or cluster reports (endpoint, master user,
// status, pending changes), setting a password, and waiting with a bounded poll until RDS has
// applied it. Clients come from the SDK's default chain (AWS_REGION, AWS_ENDPOINT_URL[_RDS], roles).
import {
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  ModifyDBClusterCommand,
  ModifyDBInstanceCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { awsError, awsErrorCode } from '../../src/aws/errors.js';
import { sdkLogger } from '../../src/aws/sdk-logger.js';
import { PermanentError, UnavailableError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { parseDuration } from '../../src/policy/duration.js';
import { sleep } from '../../src/sleep.js';
import type { AwsRdsMasterParams } from './schema.js';

/** What rotor needs to know about the database, whichever kind it is. */
export interface DbFacts {
  kind: 'instance' | 'cluster';
  id: string;
  engine: string;
  status: string;
  masterUsername: string;
  host: string | undefined;
  port: number | undefined;
  dbName: string | undefined;
  /** A new master password is waiting to be applied (PendingModifiedValues.MasterUserPassword). */
  passwordPending: boolean;
  /** RDS keeps the master password in Secrets Manager itself (ManageMasterUserPassword). */
  managedByRds: boolean;
  /** An instance that belongs to an Aurora cluster: its password is the cluster's. */
  clusterId: string | undefined;
}

/**
 * A client for one operation, closed after it: the logger carries the run's secretId and runId, so
 * a client is not shared between runs. Creating one is cheap next to RDS's own latency.
 */
async function withClient<T>(region: string | undefined, log: Logger, fn: (c: RDSClient) => Promise<T>): Promise<T> {
  const client = new RDSClient({ ...(region ? { region } : {}), logger: sdkLogger(log, 'rds') });
  try {
    return await fn(client);
  } finally {
    client.destroy();
  }
}

type Target = AwsRdsMasterParams['target'];

function kindOf(t: Target): { kind: 'instance' | 'cluster'; id: string } {
  return t.clusterId ? { kind: 'cluster', id: t.clusterId } : { kind: 'instance', id: t.instanceId! };
}

export async function describeDb(t: Target, log: Logger): Promise<DbFacts> {
  const { kind, id } = kindOf(t);
  const action = kind === 'cluster' ? 'rds:DescribeDBClusters' : 'rds:DescribeDBInstances';
  try {
    return await withClient(t.region, log, (client) => describeWith(client, kind, id, t.region));
  } catch (err) {
    if (err instanceof PermanentError) throw err;
    const code = awsErrorCode(err);
    if (code === 'DBInstanceNotFoundFault' || code === 'DBClusterNotFoundFault') throw notFound(kind, id, t.region);
    throw awsError(err, { action, resource: id });
  }
}

async function describeWith(client: RDSClient, kind: 'instance' | 'cluster', id: string, region: string | undefined): Promise<DbFacts> {
  if (kind === 'cluster') {
    const c = (await client.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters?.[0];
    if (!c) throw notFound(kind, id, region);
    return {
      kind,
      id,
      engine: c.Engine ?? 'unknown',
      status: c.Status ?? 'unknown',
      masterUsername: c.MasterUsername ?? '',
      host: c.Endpoint,
      port: c.Port,
      dbName: c.DatabaseName,
      passwordPending: c.PendingModifiedValues?.MasterUserPassword !== undefined,
      managedByRds: c.MasterUserSecret !== undefined,
      clusterId: undefined,
    };
  }
  const i = (await client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0];
  if (!i) throw notFound(kind, id, region);
  return {
    kind,
    id,
    engine: i.Engine ?? 'unknown',
    status: i.DBInstanceStatus ?? 'unknown',
    masterUsername: i.MasterUsername ?? '',
    host: i.Endpoint?.Address,
    port: i.Endpoint?.Port,
    dbName: i.DBName,
    passwordPending: i.PendingModifiedValues?.MasterUserPassword !== undefined,
    managedByRds: i.MasterUserSecret !== undefined,
    clusterId: i.DBClusterIdentifier,
  };
}

function notFound(kind: string, id: string, region: string | undefined): PermanentError {
  return new PermanentError(`RDS ${kind} ${id} does not exist${region ? ` in ${region}` : ' in the default region'}`, {
    hint: `check target.${kind === 'cluster' ? 'clusterId' : 'instanceId'} and target.region (or AWS_REGION) in the policy`,
  });
}

/** Asks RDS to set the master password now. The value goes only into the request body. */
export async function setMasterPassword(t: Target, password: string, log: Logger): Promise<void> {
  const { kind, id } = kindOf(t);
  const action = kind === 'cluster' ? 'rds:ModifyDBCluster' : 'rds:ModifyDBInstance';
  try {
    await withClient(t.region, log, async (client) => {
      if (kind === 'cluster')
        await client.send(new ModifyDBClusterCommand({ DBClusterIdentifier: id, MasterUserPassword: password, ApplyImmediately: true }));
      else
        await client.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: id, MasterUserPassword: password, ApplyImmediately: true }));
    });
  } catch (err) {
    const code = awsErrorCode(err);
    if (code === 'InvalidDBInstanceStateFault' || code === 'InvalidDBClusterStateFault') {
      throw new UnavailableError(`RDS ${kind} ${id} cannot take a new master password in its current state; rotor will try again`, {
        cause: awsError(err, { action, resource: id }),
      });
    }
    throw awsError(err, { action, resource: id });
  }
}

/**
 * Waits until RDS reports the database available with no master password pending, polling every
 * `pollInterval` up to `applyTimeout`. Past it the attempt fails as unavailable: the engine retries
 * with backoff, then ends the run in needs-attention.
 */
export async function waitUntilApplied(t: Target, log: Logger, signal: AbortSignal): Promise<DbFacts> {
  const timeoutMs = parseDuration(t.applyTimeout) ?? 600_000;
  const everyMs = parseDuration(t.pollInterval) ?? 5_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const facts = await describeDb(t, log);
    if (facts.status === 'available' && !facts.passwordPending) return facts;
    if (Date.now() + everyMs > deadline) {
      throw new UnavailableError(
        `RDS ${facts.kind} ${facts.id} still reports ${facts.status}${facts.passwordPending ? ' with a master password pending' : ''} after ${Math.round(timeoutMs / 1000)}s`,
        { hint: 'RDS applies master passwords asynchronously; raise target.applyTimeout if this database is usually slower' },
      );
    }
    await sleep(everyMs, signal);
  }
}
