// The SDK's Node-version warning: silenced by the switch rotor sets, said once by rotor instead.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SDK_WARNING_SWITCH, sdkNodeWarning, takeOverSdkNodeWarning } from '../../../src/aws/node-version-warning.js';

/** Makes a Secrets Manager client in a fresh Node, as rotor does, and returns what it wrote to stderr. */
function clientStderr(env: Record<string, string | undefined>): string {
  const script =
    "const { SecretsManagerClient } = require('@aws-sdk/client-secrets-manager'); new SecretsManagerClient({ region: 'eu-west-1' });";
  const r = spawnSync(process.execPath, ['-e', script], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  return r.stderr;
}

describe('the AWS SDK Node-version warning', () => {
  it('is not printed by the SDK once rotor has taken it over', () => {
    const env: NodeJS.ProcessEnv = {};
    takeOverSdkNodeWarning(env);
    expect(env[SDK_WARNING_SWITCH]).toBe('true');
    expect(clientStderr({ [SDK_WARNING_SWITCH]: env[SDK_WARNING_SWITCH] })).not.toContain('NodeVersionSupportWarning');
  });

  it('is printed by the SDK without the switch on a Node older than it wants (what rotor replaces)', () => {
    const old = Number.parseInt(process.versions.node, 10) < 22;
    expect(clientStderr({}).includes('NodeVersionSupportWarning')).toBe(old);
  });

  it('is said by rotor on an old Node, unless the operator had silenced it', () => {
    takeOverSdkNodeWarning({});
    expect(sdkNodeWarning('v20.20.2')).toMatch(/^Node v20\.20\.2: AWS SDK releases .* need Node >= 22/);
    expect(sdkNodeWarning('v22.1.0')).toBeNull();
    takeOverSdkNodeWarning({ [SDK_WARNING_SWITCH]: 'true' });
    expect(sdkNodeWarning('v20.20.2')).toBeNull();
  });
});
