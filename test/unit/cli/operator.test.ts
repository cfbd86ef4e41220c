// Who the CLI says acts, the ids it suggests for a typo, and when it colours.
import { describe, expect, it } from 'vitest';
import { loginName } from '../../../src/cli/confirm.js';
import { paletteFor, wantsColour } from '../../../src/cli/format/colour.js';
import { closestIds } from '../../../src/cli/unknown-secret.js';

describe('the actor', () => {
  it('is $USER, else $LOGNAME, else the OS account (root in a non-login shell has neither set)', () => {
    const os = () => ({ username: 'root', uid: 0 });
    expect(loginName({ USER: 'alice', LOGNAME: 'bob' }, os)).toBe('alice');
    expect(loginName({ LOGNAME: 'bob' }, os)).toBe('bob');
    expect(loginName({}, os)).toBe('root');
    expect(loginName({ USER: '' }, () => ({ username: '', uid: 1000 }))).toBe('uid 1000');
  });

  it('falls back to the uid when the account has no passwd entry', () => {
    const none = () => {
      throw new Error('ENOENT: no such file or directory, uv_os_get_passwd');
    };
    expect(loginName({}, none)).toMatch(/^uid \d+$|^unknown$/);
  });
});

describe('did you mean, for secret ids', () => {
  const known = ['payments/orders-db', 'payments/orders-db-readonly', 'platform/redis-cache', 'web/session-key'];

  it('suggests the closest ids for a typo, closest first', () => {
    expect(closestIds('payments/order-db', known)).toEqual(['payments/orders-db']);
    expect(closestIds('paymnets/orders-db', known)[0]).toBe('payments/orders-db');
    expect(closestIds('platform/redis-cahce', known)).toEqual(['platform/redis-cache']);
  });

  it('matches the name without its folder', () => {
    expect(closestIds('session-key', known)).toEqual(['web/session-key']);
  });

  it('suggests nothing for a name that is no typo of any', () => {
    expect(closestIds('billing/stripe', known)).toEqual([]);
  });
});

describe('colour', () => {
  const tty = { isTTY: true };

  it('only on a terminal, never with NO_COLOR or under CI', () => {
    expect(wantsColour(tty, {})).toBe(true);
    expect(wantsColour({ isTTY: false }, {})).toBe(false);
    expect(wantsColour(tty, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColour(tty, { CI: 'true' })).toBe(false);
    expect(wantsColour(tty, { CI: 'false' })).toBe(true);
    expect(paletteFor({ isTTY: false }, {}).red('x')).toBe('x');
    expect(paletteFor(tty, {}).red('x')).toBe('\u001b[31mx\u001b[39m');
  });
});

describe('secret get --field', () => {
  it('ends with a newline on a terminal and is exact bytes when piped', async () => {
    const { fieldText } = await import('../../../src/cli/secret.js');
    expect(fieldText('s3cr3t', true)).toBe('s3cr3t\n');
    expect(fieldText('s3cr3t', false)).toBe('s3cr3t');
  });
});
