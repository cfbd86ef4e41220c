// The intent the aws-iam-access-key rotator records on the user before CreateAccessKey, on its own:
// its tag (what IAM allows in tag keys and values) and which keys it lets rotor take for its own.
import { describe, expect, it } from 'vitest';
import {
  CREATING_TAG_PREFIX,
  INTENT_WINDOW_MS,
  formatIntent,
  intentTagKey,
  orphanCandidates,
  parseIntent,
} from '../../../rotators/aws-iam-access-key/intent.js';

const AT = new Date('2026-06-01T12:00:00.000Z');
const key = (id: string, status: 'Active' | 'Inactive', msAfter: number) => ({ id, status, created: new Date(AT.getTime() + msAfter) });
const intent = { runId: '4b0f6c1e-8d7a-4e52-9a51-0c1f2e3d4a5b', at: AT, known: ['AKIAKNOWNKNOWNKNOWN1'] };

describe('aws-iam-access-key create intent', () => {
  it('is one tag per secret that IAM accepts: a key of at most 128 characters, a value of allowed characters', () => {
    const tag = intentTagKey(`team/${'x'.repeat(500)}`);
    expect(tag.startsWith(CREATING_TAG_PREFIX)).toBe(true);
    expect(tag.length).toBeLessThanOrEqual(128);
    expect(intentTagKey('a/b')).toBe(intentTagKey('a/b'));
    expect(intentTagKey('a/b')).not.toBe(intentTagKey('a/c'));
    const value = formatIntent({ ...intent, known: ['AKIAKNOWNKNOWNKNOWN1', 'AKIAKNOWNKNOWNKNOWN2'] });
    expect(value).toMatch(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u);
    expect(value.length).toBeLessThanOrEqual(256);
    expect(parseIntent(value)).toEqual({ ...intent, known: ['AKIAKNOWNKNOWNKNOWN1', 'AKIAKNOWNKNOWNKNOWN2'] });
    expect(parseIntent(formatIntent({ ...intent, known: [] }))).toEqual({ ...intent, known: [] });
  });

  it('reads a value someone edited into something else as no intent', () => {
    for (const value of ['', 'run-1', 'run-1 yesterday', `run-1 ${AT.toISOString()} not-a-key-id!`])
      expect(parseIntent(value)).toBeUndefined();
  });

  it('takes only an active key the user did not have, that is not CURRENT, made within the window of the call', () => {
    const keys = [
      key('AKIAKNOWNKNOWNKNOWN1', 'Active', -60_000),
      key('AKIAORPHANORPHANORP1', 'Active', 800),
      key('AKIACURRENTCURRENTC1', 'Active', 500),
      key('AKIADEACTIVATEDBYOP1', 'Inactive', 900),
      key('AKIAMUCHLATERLATERL1', 'Active', INTENT_WINDOW_MS + 1_000),
    ];
    expect(orphanCandidates(keys, intent, 'AKIACURRENTCURRENTC1').map((k) => k.id)).toEqual(['AKIAORPHANORPHANORP1']);
    // AWS's clock a little behind rotor's: the key's CreateDate is just before the recorded time.
    expect(orphanCandidates([key('AKIAORPHANORPHANORP1', 'Active', -90_000)], intent, undefined)).toHaveLength(1);
  });
});
