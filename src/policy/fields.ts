// zod field types shared by the policy, store, consumer and rotator schemas, with the wording
// a policy author needs when one is wrong.
import { z } from 'zod';
import { DURATION_EXAMPLES, parseDuration } from './duration.js';

/** A duration as text (`30s`, `1h30m`); the loader turns it into milliseconds. */
export function duration() {
  return z
    .string({ error: (iss) => (iss.input === undefined ? undefined : `must be a duration such as ${DURATION_EXAMPLES}`) })
    .refine((text) => parseDuration(text) !== undefined, {
      error: `must be a duration such as ${DURATION_EXAMPLES} (a number, then ms, s, m, h, d or w)`,
    });
}

/** An http(s) URL. Cheaper than z.url(), which matters across 100k secrets. */
export function httpUrl() {
  return z.string().regex(/^https?:\/\/[^\s/?#]+(?:[/?#]\S*)?$/, { error: 'must be an http:// or https:// URL' });
}

export const SIMPLE_NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/;

/** Names of consumers and tags: lower-case words joined by `-`, `_` or `.`. */
export function simpleName(what: string) {
  return z.string().regex(SIMPLE_NAME, { error: `must be a ${what}: lower-case letters, digits, '-', '_' or '.'` });
}
