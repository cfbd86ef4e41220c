// The token gate alone: constant-time match against several tokens, failures per address in a
// window, and a missing token refused without counting as a guess.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/log.js';
import { TokenGate, tokenDigest } from '../../../../src/dashboard/middleware/token-gate.js';

const messages = { missing: 'missing', wrong: 'wrong' };
const at = (client: string) => ({ kind: 'operator' as const, client, path: '/x' });

describe('TokenGate', () => {
  it('matches any of the accepted tokens, whatever the lengths', () => {
    const accepted = [tokenDigest('first-token-0123456789'), tokenDigest('second')];
    expect(TokenGate.matches('first-token-0123456789', accepted)).toBe(true);
    expect(TokenGate.matches('second', accepted)).toBe(true);
    expect(TokenGate.matches('first-token-012345678', accepted)).toBe(false);
    expect(TokenGate.matches('', accepted)).toBe(false);
    expect(TokenGate.matches(undefined, accepted)).toBe(false);
  });

  it('limits wrong tokens per address for a window, then forgets them', () => {
    let now = 0;
    const gate = new TokenGate({ log: silentLogger, maxFailures: 3, windowMs: 1000, now: () => now });
    const ok = [tokenDigest('right')];
    expect([1, 2, 3].map(() => gate.check('bad', ok, at('a'), messages)?.status)).toEqual([401, 401, 401]);
    expect(gate.check('bad', ok, at('a'), messages)?.status).toBe(429);
    expect(gate.check('right', ok, at('a'), messages)).toBeNull();
    now = 1001;
    expect(gate.check('bad', ok, at('a'), messages)?.status).toBe(401);
  });

  it('refuses a missing token without counting it against the address', () => {
    const gate = new TokenGate({ log: silentLogger, maxFailures: 1 });
    const ok = [tokenDigest('right')];
    expect(gate.check(undefined, ok, at('a'), messages)).toEqual({ status: 401, message: 'missing' });
    expect(gate.check(undefined, ok, at('a'), messages)).toEqual({ status: 401, message: 'missing' });
    expect(gate.check('bad', ok, at('a'), messages)).toEqual({ status: 401, message: 'wrong' });
    expect(gate.check('bad', ok, at('a'), messages)?.status).toBe(429);
  });
});
