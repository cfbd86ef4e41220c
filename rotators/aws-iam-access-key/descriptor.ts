// The aws-iam-access-key rotator, declared once: name, parameters and traits; the implementation (and
// the AWS SDK) loads on demand.
import type { RotatorDescriptor } from '../../src/rotator/contract.js';
import { awsIamAccessKeyParamsSchema, type AwsIamAccessKeyParams } from './schema.js';

// Annotated, not inferred: index.ts imports this module back.
const descriptor: RotatorDescriptor<AwsIamAccessKeyParams> = {
  name: 'aws-iam-access-key',
  paramsSchema: awsIamAccessKeyParamsSchema,
  traits(params) {
    return {
      // IAM's two keys per user: the old key works until revoke deactivates it.
      overlap: true,
      // GetAccessKeyLastUsed tells whether a consumer still uses the old key.
      drain: true,
      // IAM is global: the user is the target whatever region the clients use.
      targetKey: `iam://user/${params.target.userName}`,
    };
  },
  load: () => import('./index.js'),
};

export default descriptor;
