// Two projects: unit tests need nothing running; integration tests get one private PostgreSQL
// (scram-sha-256) and one private redis-server per run from test/helpers/global-setup.ts, and each
// test file makes its own database (createTestDatabase) and queue prefix (uniquePrefix).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Plug-in fixtures and examples import rotor's public entries by name (rotor/rotator, ...); under
// vitest they are the TypeScript sources, the same modules the tests import.
const resolve = {
  alias: [{ find: /^rotor\/(rotator|consumer|store)$/, replacement: fileURLToPath(new URL('./src/public/$1.ts', import.meta.url)) }],
};

// The AWS SDK's Node-version warning, once per process (and per spawned rotor), says nothing a test
// needs; rotor start prints its own version of it (src/aws/node-version-warning.ts).
const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        test: {
          name: 'unit',
          env,
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        resolve,
        test: {
          name: 'integration',
          env,
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
          // Records the secret values each file tracked for the end-of-run Redis leak scan.
          setupFiles: ['test/helpers/leak-record.ts', 'test/helpers/env-file-root.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
