// The quick check of a secret's own fields never accepts what the schema would reject.
import { describe, expect, it } from 'vitest';
import { envelopeSurelyValid } from '../../../src/policy/envelope.js';
import { secretSchema } from '../../../src/policy/schema.js';

const valid = {
  id: 'team/db',
  owner: 'team',
  description: 'x',
  class: 'standard',
  tags: ['prod', 'pci'],
  rotator: 'postgres',
  strategy: 'single-user',
  target: { anything: true },
  store: { backend: 'local', extra: 1 },
  consumers: [{ type: 'webhook', url: 'x' }],
};

const variants: Array<[string, Record<string, unknown>]> = [
  ['a valid secret', valid],
  ['a minimal secret', { id: 'a', rotator: 'b' }],
  ['an unknown field', { ...valid, cadance: '30d' }],
  ['a numeric id', { ...valid, id: 5 }],
  ['no rotator', { id: 'a' }],
  ['an empty owner', { ...valid, owner: '' }],
  ['a numeric owner', { ...valid, owner: 1 }],
  ['a list description', { ...valid, description: [] }],
  ['tags as text', { ...valid, tags: 'prod' }],
  ['an upper-case tag', { ...valid, tags: ['Prod'] }],
  ['a store without backend', { ...valid, store: { name: 'x' } }],
  ['a store as a list', { ...valid, store: [] }],
  ['consumers as a map', { ...valid, consumers: { type: 'webhook' } }],
  ['a consumer without type', { ...valid, consumers: [{ url: 'x' }] }],
  ['a null consumer', { ...valid, consumers: [null] }],
  ['a timing override', { ...valid, grace: '1h' }],
  ['a bad timing override', { ...valid, grace: 'soon' }],
  ['a null class', { ...valid, class: null }],
];

describe('the quick secret check', () => {
  it.each(variants)('agrees with the schema or defers to it: %s', (_name, raw) => {
    if (envelopeSurelyValid(raw)) expect(secretSchema.safeParse(raw).success).toBe(true);
  });

  it('accepts the common case without zod', () => {
    expect(envelopeSurelyValid(valid)).toBe(true);
  });
});
