// A target system kept in memory, for engine tests: it records every effect in order, can be made
// to fail, and answers "does this credential work" exactly like a real server would.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { defineRotator, type SecretValue } from '../../../src/rotator/contract.js';

export interface MemoryTarget {
  /** username → password currently accepted */
  accepted: Map<string, Set<string>>;
  calls: string[];
  /**
   * Names of operations that throw while set (simulates the target being down). `apply-after`:
   * apply takes effect, then throws (the answer lost on the way back).
   */
  failing: Set<string>;
  sessions: Map<string, number>;
  works(v: SecretValue): boolean;
}

export function createMemoryTarget(): MemoryTarget {
  const accepted = new Map<string, Set<string>>();
  return {
    accepted,
    calls: [],
    failing: new Set(),
    sessions: new Map(),
    works: (v) => accepted.get(String(v.username))?.has(String(v.password)) ?? false,
  };
}

const params = z.object({ users: z.tuple([z.string(), z.string()]) });

/** Alternating users on the memory target: the same shape as the postgres rotator. */
export function memoryRotator(target: MemoryTarget) {
  const check = (op: string) => {
    target.calls.push(op);
    if (target.failing.has(op)) throw new Error(`target unavailable during ${op}`);
  };
  return defineRotator({
    name: 'memory',
    contractVersion: 1,
    paramsSchema: params,
    traits: () => ({ overlap: true, drain: true, targetKey: 'memory://target' }),
    async generate(ctx, current) {
      check('generate');
      const [a, b] = ctx.params.users;
      return { username: current?.username === a ? b : a, password: randomBytes(18).toString('base64url') };
    },
    async apply(_ctx, next) {
      check('apply');
      target.accepted.set(String(next.username), new Set([String(next.password)]));
      if (target.failing.has('apply-after')) throw new Error('the answer to apply was lost');
    },
    async verify(_ctx, value) {
      check('verify');
      if (!target.works(value)) throw new Error(`authentication failed for ${value.username}`);
    },
    async revoke(_ctx, revoke, keep) {
      check('revoke');
      // Nothing of rotor's to keep (a failed first rotation): only this password goes.
      if (!keep) target.accepted.get(String(revoke.username))?.delete(String(revoke.password));
      else if (revoke.username !== keep.username) target.accepted.delete(String(revoke.username));
      else target.accepted.set(String(keep.username), new Set([String(keep.password)]));
    },
    async inUse(_ctx, value) {
      check('inUse');
      return target.sessions.get(String(value.username)) ?? 0;
    },
  });
}
