// The aws-rds-master rotator, declared once: name, parameters and traits; the implementation (and
// the AWS SDK) loads on demand.
import type { RotatorDescriptor } from '../../src/rotator/contract.js';
import { awsRdsMasterParamsSchema, type AwsRdsMasterParams } from './schema.js';

// Annotated, not inferred: index.ts imports this module back.
const descriptor: RotatorDescriptor<AwsRdsMasterParams> = {
  name: 'aws-rds-master',
  paramsSchema: awsRdsMasterParamsSchema,
  traits(params) {
    const t = params.target;
    return {
      // One master password: the old one stops working the moment RDS applies the new one.
      overlap: false,
      drain: false,
      targetKey: `rds://${t.region ?? 'default'}/${t.clusterId ? `cluster/${t.clusterId}` : `instance/${t.instanceId}`}`,
    };
  },
  load: () => import('./index.js'),
};

export default descriptor;
