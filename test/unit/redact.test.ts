import { describe, expect, it } from 'vitest';
import { forgetSecret, redactError, scrub, trackSecret } from '../../src/redact.js';

describe('redaction', () => {
  it('scrubs a tracked password from text and from error messages and causes', () => {
    const value = { username: 'app_a', password: 'Zx9-very-secret-Q' };
    trackSecret(value);
    expect(scrub('login app_a with Zx9-very-secret-Q failed')).toBe('login app_a with [redacted] failed');
    const err = redactError(new Error('outer Zx9-very-secret-Q', { cause: new Error('inner Zx9-very-secret-Q') }));
    expect(err.message).not.toContain('Zx9-very-secret-Q');
    expect(String((err.cause as Error).message)).not.toContain('Zx9-very-secret-Q');
    forgetSecret(value);
    expect(scrub('Zx9-very-secret-Q')).toBe('Zx9-very-secret-Q');
  });

  it('does not track identifiers such as usernames', () => {
    trackSecret({ username: 'payments_a', password: 'another-secret-1' });
    expect(scrub('payments_a')).toBe('payments_a');
  });

  it('scrubs the password of any connection string', () => {
    expect(scrub('connect postgres://admin:hunter22@db:5432/x failed')).toBe(
      'connect postgres://admin:[redacted]@db:5432/x failed',
    );
  });
});
