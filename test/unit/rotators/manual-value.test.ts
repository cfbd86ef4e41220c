// The value a person hands `rotor attest --value-stdin` for a manual secret, read into its store
// layout (target.fields): plain text for one field, one JSON object for several; every refusal
// names fields and never repeats the value.
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import { manualParamsSchema } from '../../../rotators/manual/schema.js';
import { parseManualValue } from '../../../rotators/manual/value.js';

const params = (target: Record<string, unknown> = {}) => manualParamsSchema.parse({ target });
const pair = params({ fields: ['keyId', 'secret'] });
const SECRET = 'sk_live_0123456789abcdef';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    const message = (err as InvalidInputError).message + (err as InvalidInputError).hint;
    expect(message).not.toContain(SECRET);
    return (err as Error).message;
  }
  throw new Error('no refusal');
}

describe('a manual secret value from stdin', () => {
  it('reads one field as plain text, without the one newline a pipe or file ends with', () => {
    expect(parseManualValue(params(), `${SECRET}\n`, 'p/x')).toEqual({ value: SECRET });
    expect(parseManualValue(params(), `${SECRET}\r\n`, 'p/x')).toEqual({ value: SECRET });
    expect(parseManualValue(params({ fields: ['apiKey'] }), SECRET, 'p/x')).toEqual({ apiKey: SECRET });
    // A PEM block keeps its inner newlines, and a one-field value that looks like JSON stays text.
    expect(parseManualValue(params(), 'a\nb\n\n', 'p/x')).toEqual({ value: 'a\nb\n' });
    expect(parseManualValue(params(), '{"value":"x"}', 'p/x')).toEqual({ value: '{"value":"x"}' });
  });

  it('reads several fields from one JSON object with exactly those keys', () => {
    expect(parseManualValue(pair, JSON.stringify({ secret: SECRET, keyId: 'AKID' }) + '\n', 'p/x')).toEqual({
      keyId: 'AKID',
      secret: SECRET,
    });
    expect(parseManualValue(pair, JSON.stringify({ keyId: 7, secret: SECRET }), 'p/x')).toEqual({ keyId: 7, secret: SECRET });
  });

  it('refuses what does not fit, naming fields and never the value', () => {
    expect(refusal(() => parseManualValue(params(), ' \n', 'p/x'))).toContain('stdin is empty');
    expect(refusal(() => parseManualValue(params(), `${SECRET}\0`, 'p/x'))).toContain('NUL');
    expect(refusal(() => parseManualValue(pair, '', 'p/x'))).toContain('stdin is empty: p/x declares the fields keyId, secret');
    expect(refusal(() => parseManualValue(pair, `{"keyId": "${SECRET}`, 'p/x'))).toContain('stdin is not a JSON object');
    expect(refusal(() => parseManualValue(pair, JSON.stringify([SECRET]), 'p/x'))).toContain('stdin is not a JSON object');
    expect(refusal(() => parseManualValue(pair, JSON.stringify({ keyId: SECRET }), 'p/x'))).toContain('lacks secret');
    // An unknown key is counted, never named: it may be a key id or a value pasted in the wrong place.
    const extra = refusal(() => parseManualValue(pair, JSON.stringify({ keyId: 'a', secret: 'b', AKIAEXAMPLE0123: SECRET }), 'p/x'));
    expect(extra).toContain('has a key p/x does not declare');
    expect(extra).not.toContain('AKIAEXAMPLE0123');
    expect(refusal(() => parseManualValue(pair, JSON.stringify({ keyId: 'a', secret: 'b', x1: '', x2: '' }), 'p/x'))).toContain(
      'has 2 keys p/x does not declare',
    );
    expect(refusal(() => parseManualValue(pair, JSON.stringify({ keyId: 'a', secret: ' ' }), 'p/x'))).toContain(
      'field secret on stdin must be non-empty text',
    );
    expect(refusal(() => parseManualValue(pair, JSON.stringify({ keyId: true, secret: SECRET }), 'p/x'))).toContain('field keyId');
  });

  it('holds target.fields to distinct field names', () => {
    expect(manualParamsSchema.safeParse({ target: { fields: ['a', 'a'] } }).success).toBe(false);
    expect(manualParamsSchema.safeParse({ target: { fields: ['api-key'] } }).success).toBe(false);
    expect(manualParamsSchema.safeParse({ target: { fields: [] } }).success).toBe(false);
  });
});
