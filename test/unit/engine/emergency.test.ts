import { describe, expect, it } from 'vitest';
import { LANE_QUEUES, givesWay, graceEnd, laneOf, reclaimAfterMs } from '../../../src/engine/emergency.js';
import { EMERGENCY_QUEUE, RUNS_QUEUE } from '../../../src/queue/names.js';

const promotedAt = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(promotedAt.getTime() + ms);
const secret = { graceMs: 3_600_000, emergencyGraceMs: 300_000 };

describe('the emergency-grace rule', () => {
  it('gives a routine run its class grace after promote, and an emergency its emergency grace', () => {
    expect(graceEnd({ trigger: 'schedule', promotedAt, graceUntil: null }, secret)).toEqual(at(3_600_000));
    expect(graceEnd({ trigger: 'manual', promotedAt, graceUntil: null }, secret)).toEqual(at(3_600_000));
    expect(graceEnd({ trigger: 'emergency', promotedAt, graceUntil: null }, secret)).toEqual(at(300_000));
  });

  it("keeps a routine run's recorded grace end", () => {
    expect(graceEnd({ trigger: 'schedule', promotedAt, graceUntil: at(42) }, secret)).toEqual(at(42));
  });

  it('shortens the grace of a run escalated after promote to the emergency grace, never lengthens it', () => {
    expect(graceEnd({ trigger: 'emergency', promotedAt, graceUntil: at(3_600_000) }, secret)).toEqual(at(300_000));
    expect(graceEnd({ trigger: 'emergency', promotedAt, graceUntil: at(1_000) }, secret)).toEqual(at(1_000));
  });

  it('leaves a run not yet promoted as it is: its grace is decided at promote', () => {
    expect(graceEnd({ trigger: 'emergency', promotedAt: null, graceUntil: null }, secret)).toBeNull();
    expect(graceEnd({ trigger: 'schedule', promotedAt: null, graceUntil: null }, secret)).toBeNull();
  });
});

describe('emergency lanes', () => {
  it('sends emergencies to their own queue and everything else to the routine one', () => {
    expect(LANE_QUEUES[laneOf('emergency')]).toBe(EMERGENCY_QUEUE);
    expect(LANE_QUEUES[laneOf('schedule')]).toBe(RUNS_QUEUE);
    expect(LANE_QUEUES[laneOf('manual')]).toBe(RUNS_QUEUE);
  });

  it('makes a routine job give way to a run escalated to an emergency, and only then', () => {
    expect(givesWay('routine', { trigger: 'emergency' })).toBe(true);
    expect(givesWay('routine', { trigger: 'schedule' })).toBe(false);
    expect(givesWay('emergency', { trigger: 'emergency' })).toBe(false);
    expect(givesWay(undefined, { trigger: 'emergency' })).toBe(false);
  });

  it('lets an emergency job look again for its run sooner than the lease would expire', () => {
    expect(reclaimAfterMs('emergency', 60_000)).toBeLessThan(1_000);
    expect(reclaimAfterMs('routine', 60_000)).toBe(60_000);
  });

  it("lets a routine job look again when the holder's lease expires, never later than a lease", () => {
    expect(reclaimAfterMs('routine', 60_000, 2_000)).toBe(2_050);
    expect(reclaimAfterMs(undefined, 60_000, -500)).toBe(50); // expired meanwhile: at once
    expect(reclaimAfterMs('routine', 60_000, 90_000)).toBe(60_000); // a clock that says more: one lease at most
    expect(reclaimAfterMs('emergency', 60_000, 30_000)).toBeLessThan(1_000);
  });
});
