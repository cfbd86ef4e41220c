// The two-slot rules of the aws-iam-access-key rotator, on their own: which keys create may delete to
// make room, and when it must refuse instead.
import { describe, expect, it } from 'vitest';
import { classify, planSlots } from '../../../rotators/aws-iam-access-key/slots.js';
import { isUserArn } from '../../../rotators/aws-iam-access-key/sts.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const HOUR = 3_600_000;
const at = (hoursAgo: number) => new Date(NOW.getTime() - hoursAgo * HOUR);
const key = (id: string, status: 'Active' | 'Inactive', hoursAgo: number) => ({ id, status, created: at(hoursAgo) });

describe('aws-iam-access-key slots', () => {
  it('needs nothing deleted while a slot is free, whoever owns the other key', () => {
    const keys = classify([key('FOREIGN', 'Active', 100)], undefined, new Map(), HOUR);
    expect(planSlots(keys, NOW, false)).toEqual({ expired: [] });
  });

  it('deletes a held key once its hold is over, and only then', () => {
    const keys = [key('OLD', 'Inactive', 50), key('CUR', 'Active', 10)];
    const over = classify(keys, 'CUR', new Map([['OLD', at(2)]]), HOUR);
    expect(planSlots(over, NOW, false).expired.map((k) => k.id)).toEqual(['OLD']);
    const within = classify(keys, 'CUR', new Map([['OLD', at(0.5)]]), HOUR);
    const plan = planSlots(within, NOW, false);
    expect(plan.expired).toEqual([]);
    expect(plan.blocked?.map((k) => [k.id, k.role.kind])).toEqual([['OLD', 'held']]);
    // An emergency takes the held key's slot.
    expect(planSlots(within, NOW, true)).toMatchObject({ expired: [], early: { id: 'OLD' } });
  });

  it('never frees a slot held by an active key that is not CURRENT, or by a key someone else deactivated, even in an emergency', () => {
    for (const [other, held] of [
      [key('OTHER', 'Active', 50), new Map<string, Date>()],
      [key('OTHER', 'Inactive', 50), new Map<string, Date>()],
      // Deactivated by rotor, then brought back by someone: something may use it.
      [key('OTHER', 'Active', 50), new Map([['OTHER', at(100)]])],
    ] as const) {
      const keys = classify([other, key('CUR', 'Active', 10)], 'CUR', held, HOUR);
      for (const emergency of [false, true]) {
        const plan = planSlots(keys, NOW, emergency);
        expect(plan.expired).toEqual([]);
        expect(plan.early).toBeUndefined();
        expect(plan.blocked?.map((k) => k.id)).toEqual(['OTHER']);
      }
    }
    const reactivated = classify([key('OTHER', 'Active', 50)], 'CUR', new Map([['OTHER', at(100)]]), HOUR);
    expect(reactivated[0]!.role).toEqual({ kind: 'active-other', reactivated: true });
  });

  it('recognises the IAM user a key signs as, whatever its path', () => {
    expect(isUserArn('arn:aws:iam::123456789012:user/ci-deploy', 'ci-deploy')).toBe(true);
    expect(isUserArn('arn:aws-cn:iam::123456789012:user/team/ci-deploy', 'ci-deploy')).toBe(true);
    expect(isUserArn('arn:aws:iam::123456789012:user/not-ci-deploy', 'ci-deploy')).toBe(false);
    expect(isUserArn('arn:aws:sts::123456789012:assumed-role/ci-deploy/x', 'x')).toBe(false);
  });
});
