// The error a promise rejects with, for tests that check its message, hint or class.
import { expect } from 'vitest';

/**
 * Awaits `p` and returns what it rejected with; fails the test when it resolves, or when the error
 * is not an instance of `kind` (default Error).
 */
export async function rejectionOf<E extends Error = Error & { hint?: string }>(
  p: Promise<unknown>,
  kind: abstract new (...args: never[]) => E = Error as unknown as abstract new (...args: never[]) => E,
): Promise<E> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the promise to reject').toBeInstanceOf(kind);
  return err as E;
}
