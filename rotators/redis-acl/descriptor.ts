// The redis-acl rotator, declared once: name, parameters and traits; the implementation (and
// ioredis) loads on demand.
import type { RotatorDescriptor } from '../../src/rotator/contract.js';
import { nodeName, redisAclParamsSchema, type RedisAclParams } from './schema.js';

// Annotated, not inferred: index.ts imports this module back.
const descriptor: RotatorDescriptor<RedisAclParams> = {
  name: 'redis-acl',
  paramsSchema: redisAclParamsSchema,
  traits(params) {
    const { nodes, user } = params.target;
    return {
      overlap: true,
      // Redis does not record which of a user's passwords a connection logged in with, so the
      // connections of the user cannot be split into old and new: waiting for the old ones to
      // drain would wait for the consumers already on the new password too. inUse and terminate
      // still report and end the user's connections (see the README).
      drain: false,
      targetKey: `redis://${nodes.map(nodeName).sort().join(',')}/${user}`,
    };
  },
  load: () => import('./index.js'),
};

export default descriptor;
