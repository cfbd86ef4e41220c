import { describe, expect, it } from 'vitest';
import { backoffMs } from '../../../src/engine/backoff.js';
import { wavesOf } from '../../../src/engine/consumers.js';
import { isPromoted, nextStep, STEPS } from '../../../src/engine/steps.js';
import type { ResolvedConsumer, ResolvedSecret } from '../../../src/policy/types.js';

describe('backoff', () => {
  const policy = { attempts: 5, backoffMs: 1_000, maxBackoffMs: 8_000 };

  it('grows exponentially up to the cap, with full jitter below it', () => {
    expect(backoffMs(policy, 1, () => 1)).toBe(1_000);
    expect(backoffMs(policy, 3, () => 1)).toBe(4_000);
    expect(backoffMs(policy, 10, () => 1)).toBe(8_000);
    expect(backoffMs(policy, 3, () => 0.5)).toBe(2_000);
  });

  it('never returns zero, so a failing target is not retried in a tight loop', () => {
    expect(backoffMs(policy, 1, () => 0)).toBeGreaterThan(0);
  });
});

describe('step order', () => {
  it('never revokes before grace and consumer verification', () => {
    expect(STEPS.indexOf('revoke')).toBeGreaterThan(STEPS.indexOf('grace'));
    expect(STEPS.indexOf('revoke')).toBeGreaterThan(STEPS.indexOf('verify-consumers'));
    expect(STEPS.indexOf('promote')).toBeGreaterThan(STEPS.indexOf('verify-new'));
    expect(nextStep('create')).toBe('verify-new');
    expect(nextStep('revoke')).toBe('finish');
  });

  it('rolls back only once the new credential may have been read by consumers', () => {
    expect(isPromoted('verify-new')).toBe(false);
    expect(isPromoted('distribute')).toBe(true);
  });
});

describe('waves', () => {
  const consumer = (name: string, wave: number): ResolvedConsumer => ({
    name,
    type: 'env-file',
    wave,
    cacheTtlMs: undefined,
    confirmTimeoutMs: 1,
    params: {},
  });

  it('groups consumers by wave number in ascending order, keeping policy order inside a wave', () => {
    const secret = { consumers: [consumer('c', 2), consumer('a', 1), consumer('d', 3), consumer('b', 1)] } as ResolvedSecret;
    expect(wavesOf(secret).map((w) => [w.number, w.consumers.map((c) => c.name)])).toEqual([
      [1, ['a', 'b']],
      [2, ['c']],
      [3, ['d']],
    ]);
  });
});
