// The mysql rotator, declared once: name, parameters and traits; the implementation (and mysql2)
// loads on demand.
import type { RotatorDescriptor } from '../../src/rotator/contract.js';
import { mysqlParamsSchema, type MysqlParams } from './schema.js';

/** The default port of a server named by host; `db` and `db:3306` are one target. */
const DEFAULT_PORT = 3306;

// Annotated, not inferred: index.ts imports this module back.
const descriptor: RotatorDescriptor<MysqlParams> = {
  name: 'mysql',
  paramsSchema: mysqlParamsSchema,
  traits(params) {
    const { host, port, admin } = params.target;
    // Accounts are per server. Without a host the admin reference names the server.
    const server = host ? `${host.toLowerCase()}:${port ?? DEFAULT_PORT}` : `(${admin})${port ? `:${port}` : ''}`;
    return {
      overlap: params.strategy !== 'single-user',
      // Only alternating users can tell the old credential's sessions from the new one's: a
      // processlist row names the user, never which of its passwords logged it in, so with a dual
      // password (or a single user) waiting for "old" sessions would wait for the new ones too.
      // inUse and terminate still count and end the user's sessions (see the README).
      drain: params.strategy === 'alternating-users',
      targetKey: `mysql://${server}`,
      // A retained or chained password from before rotor, or one on the other account (invariant 7).
      revokesInherited: true,
    };
  },
  load: () => import('./index.js'),
};

export default descriptor;
