// Opt-in: the aws-iam-access-key rotator's conformance suite against real IAM and STS, on a
// throwaway user named by ROTOR_TEST_AWS_IAM_USER (it creates, deactivates and deletes that user's
// keys; a user that already has keys is refused). rotor's own credentials and region come from the
// SDK's default chain. CI does not set it:
//   ROTOR_TEST_AWS_IAM_USER=rotor-test AWS_REGION=eu-central-1 npx vitest run test/integration/aws/iam-real.test.ts
// IAM records last use with a delay and to the minute, so the in-use check waits for it (minutes).
import { GetAccessKeyLastUsedCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { describe, vi } from 'vitest';
import awsIamAccessKeyRotator from '../../../rotators/aws-iam-access-key/index.js';
import type { ConformanceHarness } from '../../../src/rotator/conformance.js';
import { describeConformance } from '../../../src/rotator/conformance-vitest.js';
import type { SecretValue } from '../../../src/rotator/contract.js';

const userName = process.env.ROTOR_TEST_AWS_IAM_USER;
// Real IAM is slow to report last use: the in-use check alone can take minutes.
vi.setConfig({ testTimeout: 1_200_000, hookTimeout: 60_000 });

describe.runIf(Boolean(userName))('aws-iam-access-key against real IAM', () => {
  const iam = new IAMClient({});
  const lastUsed = async (v: SecretValue) =>
    (await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: String(v.accessKeyId) }))).AccessKeyLastUsed?.LastUsedDate?.getTime() ??
    0;

  describeConformance('aws-iam-access-key (real AWS)', awsIamAccessKeyRotator, async (): Promise<ConformanceHarness> => {
    const keys = (await iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? [];
    if (keys.length)
      throw new Error(`ROTOR_TEST_AWS_IAM_USER ${userName} has ${keys.length} access key(s): name a throwaway user with none`);
    return {
      params: {
        target: {
          userName,
          ...(process.env.AWS_REGION ? { region: process.env.AWS_REGION } : {}),
          deleteAfter: '0s',
          lastUsedWindow: '3m',
        },
      },
      settleMs: 300_000,
      // A consumer's call, a minute after rotor's own verify (IAM records use to the minute), waited
      // for until IAM reports it.
      async openSession(v) {
        const before = await lastUsed(v);
        await new Promise((r) => setTimeout(r, 61_000));
        const sts = new STSClient({ credentials: { accessKeyId: String(v.accessKeyId), secretAccessKey: String(v.secretAccessKey) } });
        await sts.send(new GetCallerIdentityCommand({}));
        sts.destroy();
        const deadline = Date.now() + 600_000;
        while ((await lastUsed(v)) <= before) {
          if (Date.now() > deadline) throw new Error('IAM did not report the use within 10 minutes');
          await new Promise((r) => setTimeout(r, 10_000));
        }
        return { close: async () => undefined };
      },
      close: async () => iam.destroy(),
    };
  });
});
