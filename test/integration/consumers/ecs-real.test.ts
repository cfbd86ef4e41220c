// Opt-in: the ecs consumer against a real ECS service, when ROTOR_TEST_ECS_CLUSTER and
// ROTOR_TEST_ECS_SERVICE are set (with AWS credentials and AWS_REGION in the environment; the
// identity needs ecs:UpdateService and ecs:DescribeServices on the service). It restarts the
// service once and waits, up to ROTOR_TEST_ECS_TIMEOUT_MS (10 min), for ECS to report the rollout
// COMPLETED. CI does not set them.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ecsConsumer } from '../../../src/consumers/ecs/index.js';
import { PermanentError, RotorError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';

const cluster = process.env.ROTOR_TEST_ECS_CLUSTER;
const service = process.env.ROTOR_TEST_ECS_SERVICE;
const timeoutMs = Number(process.env.ROTOR_TEST_ECS_TIMEOUT_MS ?? 600_000);

describe.runIf(Boolean(cluster && service))('the ecs consumer on a real ECS service', () => {
  it(
    'restarts the service and confirms once its new deployment is COMPLETED',
    async () => {
      const ctx = {
        params: { cluster: cluster!, services: [service!] },
        resolveRef: async () => '',
        log: silentLogger,
        signal: new AbortController().signal,
      };
      const notice = {
        secretId: 'rotor-test/ecs',
        runId: randomUUID(),
        versionId: randomUUID(),
        store: { backend: 'local', location: 'rotor-test/ecs' },
        revokeAfter: new Date(),
      };
      await ecsConsumer.notify(ctx, notice, undefined);
      const deadline = Date.now() + timeoutMs;
      let last = '';
      for (;;) {
        try {
          expect(await ecsConsumer.confirm(ctx, notice)).toBe(notice.versionId);
          return;
        } catch (err) {
          // A rollout still going is a RotorError; a failed one a PermanentError, which fails the test.
          if (err instanceof PermanentError || !(err instanceof RotorError)) throw err;
          last = err.message;
        }
        if (Date.now() > deadline) throw new Error(`the rollout did not complete within ${timeoutMs} ms: ${last}`);
        await new Promise((r) => setTimeout(r, 10_000));
      }
    },
    timeoutMs + 60_000,
  );
});
