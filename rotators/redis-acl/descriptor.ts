// The redis-acl rotator, declared once: name, parameters and traits; the implementation (and
// ioredis) loads on demand.
import type { RotatorDescriptor } from '../../src/rotator/contract.js';
import { isLoopbackHost } from '../../src/rotator/loopback.js';
import { nodeName, redisAclParamsSchema, type RedisAclParams } from './schema.js';

// Annotated, not inferred: index.ts imports this module back.
const descriptor: RotatorDescriptor<RedisAclParams> = {
  name: 'redis-acl',
  paramsSchema: redisAclParamsSchema,
  traits(params) {
    const { nodes, user } = params.target;
    // TLS, where a node has it, verifies the certificate (Node's default); without it, a node
    // reached over a network sees the admin password in clear.
    const plain = nodes.filter((n) => !n.tls && !isLoopbackHost(n.host)).map(nodeName);
    return {
      overlap: true,
      // Redis does not record which of a user's passwords a connection logged in with, so the
      // connections of the user cannot be split into old and new: waiting for the old ones to
      // drain would wait for the consumers already on the new password too. inUse and terminate
      // still report and end the user's connections (see the README).
      drain: false,
      targetKey: `redis://${nodes.map(nodeName).sort().join(',')}/${user}`,
      // The first rotation removes every password the user had before rotor (revokeInherited).
      revokesInherited: true,
      ...(plain.length ? { weakTransport: `no TLS to ${plain.join(', ')}` } : {}),
    };
  },
  load: () => import('./index.js'),
};

export default descriptor;
