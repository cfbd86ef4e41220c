// The postgres rotator, declared once: name, parameters and traits; the implementation loads on demand.
import type { RotatorDescriptor } from '../../src/rotator/contract.js';
import { postgresParamsSchema, type PostgresParams } from './schema.js';

/** The default port of a server named by host; `db` and `db:5432` are one target. */
const DEFAULT_PORT = 5432;

// Annotated, not inferred: index.ts imports this module back.
const descriptor: RotatorDescriptor<PostgresParams> = {
  name: 'postgres',
  paramsSchema: postgresParamsSchema,
  traits(params) {
    const { host, port, database, admin } = params.target;
    // Roles are per server. Without a host the admin reference names the server (its URL holds
    // the port, so none is assumed); host names are case-insensitive.
    const server = host ? `${host.toLowerCase()}:${port ?? DEFAULT_PORT}` : `(${admin})${port ? `:${port}` : ''}`;
    const dual = params.strategy === 'alternating-users';
    // Drain only with two roles: a single user's old and new sessions are the same role's, so
    // counting them cannot tell the old credential's from the new one's.
    const { sslmode } = params.target;
    return {
      overlap: dual,
      drain: dual,
      targetKey: `postgres://${server}/${database}`,
      // The other role of the pair may hold a password set before rotor (invariant 7).
      ...(dual ? { revokesInherited: true } : {}),
      // Unset is verified TLS (loopback aside, where no one is in the path); anything else is a choice to flag.
      ...(sslmode !== undefined && sslmode !== 'verify-full' ? { weakTransport: `sslmode=${sslmode}` } : {}),
    };
  },
  load: () => import('./index.js'),
};

export default descriptor;
