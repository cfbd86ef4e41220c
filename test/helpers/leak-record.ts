// setupFiles of the integration project: at the end of each test file, hands the secret values
// that file's process tracked to the global teardown, which scans the shared Redis for them.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, inject } from 'vitest';
import { trackedSecrets } from '../../src/redact.js';

afterAll(() => {
  const values = trackedSecrets();
  if (values.length)
    writeFileSync(join(inject('rotorTestLeakDir'), `${process.pid}-${randomBytes(4).toString('hex')}.json`), JSON.stringify(values), {
      mode: 0o600,
    });
});
