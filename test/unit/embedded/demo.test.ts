import { describe, expect, it } from 'vitest';
import { loadPolicies } from '../../../src/policy/load.js';
import { DEMO_ADMIN_URL_ENV, namesDemo } from '../../../src/embedded/demo.js';
import { DEMO_WEBHOOK_KEY_ENV } from '../../../src/embedded/demo-consumer.js';

describe('the embedded demo is set up only for policies that name it', () => {
  it('the demo policies name the demo admin URL and the demo webhook key', async () => {
    const { secrets, problems } = await loadPolicies('policies/demo');
    expect(problems).toEqual([]);
    expect(namesDemo(secrets, DEMO_ADMIN_URL_ENV)).toBe(true);
    expect(namesDemo(secrets, DEMO_WEBHOOK_KEY_ENV)).toBe(true);
  });

  it('policies for real targets name neither, so rotor start creates no demo database or roles', async () => {
    const { secrets } = await loadPolicies('test/fixtures/policies/valid');
    expect(secrets.length).toBeGreaterThan(0);
    expect(namesDemo(secrets, DEMO_ADMIN_URL_ENV)).toBe(false);
    expect(namesDemo(secrets, DEMO_WEBHOOK_KEY_ENV)).toBe(false);
  });
});
