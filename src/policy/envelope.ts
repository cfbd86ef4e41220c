// A quick yes for secrets whose own fields are plainly valid, so zod's full pass over the secret
// (a fifth of validation time at 100k secrets) runs only for the rest. It may only say yes when
// secretSchema would too; anything unusual says no and zod decides, and words the problems.
// test/unit/policy/envelope.test.ts holds it to that.
import { SIMPLE_NAME } from './fields.js';
import { secretSchema } from './schema.js';
import { hasTimingFields } from './timing.js';

const KEYS = new Set(Object.keys(secretSchema.shape));

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function envelopeSurelyValid(raw: Record<string, unknown>): boolean {
  for (const key in raw) if (!KEYS.has(key)) return false;
  if (typeof raw.id !== 'string' || typeof raw.rotator !== 'string') return false;
  if (raw.owner !== undefined && (typeof raw.owner !== 'string' || raw.owner === '')) return false;
  if (raw.description !== undefined && typeof raw.description !== 'string') return false;
  if (raw.class !== undefined && typeof raw.class !== 'string') return false;
  // Timing overrides are rare in secrets and have the most rules: zod checks them.
  if (hasTimingFields(raw)) return false;
  if (raw.freezes !== undefined) return false;
  if (raw.tags !== undefined) {
    if (!Array.isArray(raw.tags)) return false;
    for (const tag of raw.tags) if (typeof tag !== 'string' || !SIMPLE_NAME.test(tag)) return false;
  }
  if (raw.dependsOn !== undefined && !(Array.isArray(raw.dependsOn) && raw.dependsOn.every((d) => typeof d === 'string'))) return false;
  if (raw.store !== undefined && !(isMap(raw.store) && typeof raw.store.backend === 'string')) return false;
  if (raw.consumers !== undefined) {
    if (!Array.isArray(raw.consumers)) return false;
    for (const c of raw.consumers) if (!(isMap(c) && typeof c.type === 'string')) return false;
  }
  return true;
}
