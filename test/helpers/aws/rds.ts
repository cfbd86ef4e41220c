// A stateful fake of Amazon RDS for master passwords, backed by a real PostgreSQL: ModifyDBInstance
// / ModifyDBCluster with MasterUserPassword put the change in PendingModifiedValues and the status
// in resetting-master-credentials; after `applyDelayMs` (checked on every call, as RDS applies it
// on its own schedule) the fake runs ALTER ROLE on the master user of the real server, with a
// SCRAM verifier so no cleartext reaches the server, and the instance is available again. MySQL
// engines (mysql, mariadb, aurora-mysql) live on a real MariaDB instead (`mysqlAdminUrl`), where the
// fake sets a mysql_native_password hash.
import {
  DBClusterNotFoundFault,
  DBInstanceNotFoundFault,
  InvalidDBClusterStateFault,
  InvalidDBInstanceStateFault,
  RDSServiceException,
} from '@aws-sdk/client-rds';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { isMysqlEngine } from '../../../rotators/aws-rds-master/login.js';
import { nativeHash } from '../../../rotators/mysql/sql.js';
import { scramVerifier } from '../../../rotators/postgres/scram.js';
import { memoryState, type FakeState } from './state.js';
import { FAKE_ACCOUNT, FAKE_IDENTITY, FAKE_REGION } from './secrets-manager.js';

interface FakeDb {
  kind: 'instance' | 'cluster';
  id: string;
  engine: string;
  masterUsername: string;
  host: string;
  port: number;
  dbName: string;
  status: string;
  /** The password waiting to be applied, and when; only while a change is pending. */
  pending?: { password: string; applyAt: number };
  clusterId?: string;
  managedSecret?: boolean;
  applied: number;
}

export interface RdsState {
  dbs: Record<string, FakeDb>;
  denied: Record<string, string[]>;
  calls: string[];
}

export interface FakeRdsOptions {
  /** How long RDS takes to apply a new master password. @defaultValue 300 */
  applyDelayMs?: number;
  /** Admin URL of the real server the fake's databases live on (a superuser). */
  adminUrl: string;
  /** Admin URL (mysql://) of the real MariaDB that MySQL-engine databases live on. */
  mysqlAdminUrl?: string;
}

const meta = { httpStatusCode: 400, attempts: 1, totalRetryDelay: 0 };
type Input = Record<string, unknown>;

export function emptyRds(): RdsState {
  return { dbs: {}, denied: {}, calls: [] };
}

export class FakeRds {
  readonly applyDelayMs: number;
  constructor(
    private readonly opts: FakeRdsOptions,
    readonly state: FakeState<RdsState> = memoryState(emptyRds()),
  ) {
    this.applyDelayMs = opts.applyDelayMs ?? 300;
  }

  /** Adds an instance (or a cluster) whose master user is `masterUsername` on the real server. */
  async addDb(db: Omit<FakeDb, 'status' | 'applied'>): Promise<void> {
    await this.state.transact((s) => void (s.dbs[`${db.kind}/${db.id}`] = { ...db, status: 'available', applied: 0 }));
  }

  async deny(action: string, resource = '*'): Promise<void> {
    await this.state.transact((s) => void (s.denied[action] = [...(s.denied[action] ?? []), resource]));
  }

  async allowAll(): Promise<void> {
    await this.state.transact((s) => void (s.denied = {}));
  }

  async db(kind: 'instance' | 'cluster', id: string): Promise<FakeDb | undefined> {
    return (await this.state.snapshot()).dbs[`${kind}/${id}`];
  }

  async calls(): Promise<string[]> {
    return (await this.state.snapshot()).calls;
  }

  async handle(action: string, input: Input): Promise<Record<string, unknown>> {
    return this.state.transact(async (s) => {
      await this.advance(s);
      const kind = action.includes('Cluster') ? 'cluster' : 'instance';
      const id = String((kind === 'cluster' ? input.DBClusterIdentifier : input.DBInstanceIdentifier) ?? '');
      s.calls.push(`${action} ${id}${input.MasterUserPassword !== undefined ? ' MasterUserPassword' : ''}`);
      const arn = `arn:aws:rds:${FAKE_REGION}:${FAKE_ACCOUNT}:${kind === 'cluster' ? 'cluster' : 'db'}:${id}`;
      const deny = s.denied[`rds:${action}`];
      if (deny && (deny.includes('*') || deny.includes(arn) || deny.includes(id))) {
        throw new RDSServiceException({
          name: 'AccessDenied',
          $fault: 'client',
          $metadata: { ...meta, httpStatusCode: 403 },
          message: `User: ${FAKE_IDENTITY} is not authorized to perform: rds:${action} on resource: ${arn} because no identity-based policy allows the rds:${action} action`,
        });
      }
      const db = s.dbs[`${kind}/${id}`];
      if (!db) {
        throw kind === 'cluster'
          ? new DBClusterNotFoundFault({ message: `DBCluster ${id} not found.`, $metadata: meta })
          : new DBInstanceNotFoundFault({ message: `DBInstance ${id} not found.`, $metadata: meta });
      }
      if (action.startsWith('Modify')) {
        if (db.status !== 'available') {
          throw kind === 'cluster'
            ? new InvalidDBClusterStateFault({ message: `DB cluster ${id} is not in the available state (${db.status}).`, $metadata: meta })
            : new InvalidDBInstanceStateFault({
                message: `Database instance ${id} is not in the available state (${db.status}).`,
                $metadata: meta,
              });
        }
        if (typeof input.MasterUserPassword === 'string') {
          if (db.managedSecret) {
            throw new RDSServiceException({
              name: 'InvalidParameterCombination',
              $fault: 'client',
              $metadata: meta,
              message: 'You cannot set MasterUserPassword while ManageMasterUserPassword is turned on.',
            });
          }
          db.pending = { password: input.MasterUserPassword, applyAt: Date.now() + this.applyDelayMs };
          db.status = 'resetting-master-credentials';
        }
      }
      // Describes answered while a password is pending are marked: tests see the poll wait it out.
      if (action.startsWith('Describe') && db.pending) s.calls[s.calls.length - 1] += ' (pending)';
      const described = describe(db, arn);
      return kind === 'cluster'
        ? action.startsWith('Modify')
          ? { DBCluster: described }
          : { DBClusters: [described] }
        : action.startsWith('Modify')
          ? { DBInstance: described }
          : { DBInstances: [described] };
    });
  }

  /** Applies every pending password whose time has come, on the real server. */
  private async advance(s: RdsState): Promise<void> {
    for (const db of Object.values(s.dbs)) {
      if (!db.pending || db.pending.applyAt > Date.now()) continue;
      if (isMysqlEngine(db.engine)) {
        if (!this.opts.mysqlAdminUrl) throw new Error(`the fake RDS has no mysqlAdminUrl for ${db.engine} database ${db.id}`);
        const m = await mysql.createConnection(this.opts.mysqlAdminUrl);
        try {
          await m.query(`ALTER USER ?@'%' IDENTIFIED VIA mysql_native_password USING ?`, [
            db.masterUsername,
            nativeHash(db.pending.password),
          ]);
        } finally {
          await m.end();
        }
        delete db.pending;
        db.status = 'available';
        db.applied++;
        continue;
      }
      const c = new pg.Client({ connectionString: this.opts.adminUrl });
      await c.connect();
      try {
        await c.query(
          `alter role ${pg.escapeIdentifier(db.masterUsername)} password ${pg.escapeLiteral(scramVerifier(db.pending.password))}`,
        );
      } finally {
        await c.end();
      }
      delete db.pending;
      db.status = 'available';
      db.applied++;
    }
  }
}

function describe(db: FakeDb, arn: string): Record<string, unknown> {
  const pending = db.pending ? { MasterUserPassword: '****' } : {};
  if (db.kind === 'cluster') {
    return {
      DBClusterIdentifier: db.id,
      DBClusterArn: arn,
      Engine: db.engine,
      Status: db.status,
      MasterUsername: db.masterUsername,
      Endpoint: db.host,
      Port: db.port,
      DatabaseName: db.dbName,
      PendingModifiedValues: pending,
      ...(db.managedSecret ? { MasterUserSecret: { SecretArn: `${arn}-secret`, SecretStatus: 'active' } } : {}),
    };
  }
  return {
    DBInstanceIdentifier: db.id,
    DBInstanceArn: arn,
    Engine: db.engine,
    DBInstanceStatus: db.status,
    MasterUsername: db.masterUsername,
    Endpoint: { Address: db.host, Port: db.port },
    DBName: db.dbName,
    PendingModifiedValues: pending,
    ...(db.clusterId ? { DBClusterIdentifier: db.clusterId } : {}),
    ...(db.managedSecret ? { MasterUserSecret: { SecretArn: `${arn}-secret`, SecretStatus: 'active' } } : {}),
  };
}
