// Free TCP ports on loopback: the same helper rotor uses for its embedded PostgreSQL.
export { freePort } from '../../src/net/free-port.js';
