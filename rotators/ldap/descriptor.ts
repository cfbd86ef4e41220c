// The ldap rotator, declared once: name, parameters and traits; the implementation (and ldapts)
// loads on demand.
import type { RotatorDescriptor } from '../../src/rotator/contract.js';
import { ldapParamsSchema, serverOf, transportOf, type LdapParams } from './schema.js';

// Annotated, not inferred: index.ts imports this module back.
const descriptor: RotatorDescriptor<LdapParams> = {
  name: 'ldap',
  paramsSchema: ldapParamsSchema,
  traits(params) {
    const { host, port } = serverOf(params.target.url);
    const transport = transportOf(params.target);
    return {
      overlap: params.strategy === 'alternating-accounts',
      // A directory does not tell which password a bound connection used, nor count binds.
      drain: false,
      targetKey: `ldap://${host}:${port}`,
      // The other account of the pair may hold a password set before rotor (invariant 7).
      ...(params.strategy === 'alternating-accounts' ? { revokesInherited: true } : {}),
      // Loopback plain LDAP is the default there (no one is in the path); anything else was a choice.
      ...(transport === 'plain' && params.target.insecure ? { weakTransport: 'plain LDAP (insecure: true)' } : {}),
    };
  },
  load: () => import('./index.js'),
};

export default descriptor;
