// The http rotator, declared once: name, parameters and traits; the implementation loads on demand.
import type { RotatorDescriptor } from '../../src/rotator/contract.js';
import { httpRotatorParamsSchema, type HttpParams } from './schema.js';

// Annotated, not inferred: index.ts imports this module back.
const descriptor: RotatorDescriptor<HttpParams> = {
  name: 'http',
  paramsSchema: httpRotatorParamsSchema,
  traits(params) {
    return {
      // What the policy says: create/delete APIs keep the old key until it is deleted.
      overlap: params.overlap !== false,
      drain: params.target.requests.inUse !== undefined,
      // The API's origin: runs against one API are staggered.
      targetKey: `http:${origin(params.target.requests.create.url)}`,
      // The first rotation revokes the key named by `initial`, and with `list` every other key listed.
      ...(params.target.initial || params.target.requests.list ? { revokesInherited: true } : {}),
    };
  },
  load: () => import('./index.js'),
};

/** `//host:port` of a URL whose scheme and host validate holds to be literal. */
function origin(url: string): string {
  try {
    return `//${new URL(url).host}`;
  } catch {
    return url;
  }
}

export default descriptor;
