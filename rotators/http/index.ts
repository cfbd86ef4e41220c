// The http rotator: any API that can create, test and delete keys over HTTP, described in the
// policy (rotators/http/schema.ts) instead of code. create makes the key (the API chooses it, so
// generate is the create request, named after the run through {{ runId }} where the API keeps a
// name); verify authenticates with it; revoke deletes the old one once the key that stays works.
import { parseDuration } from '../../src/policy/duration.js';
import { PermanentError } from '../../src/errors.js';
import { isSecretKey, trackSecret } from '../../src/redact.js';
import { implementRotator, type RotatorContext, type SecretValue } from '../../src/rotator/contract.js';
import descriptor from './descriptor.js';
import { select } from './extract.js';
import { extractOne, sendStep } from './request.js';
import type { HttpParams } from './schema.js';

export { httpRotatorParamsSchema, type HttpParams } from './schema.js';

type Ctx = RotatorContext<HttpParams>;

const timeoutOf = (ctx: Ctx) => parseDuration(ctx.params.target.timeout) ?? 30_000;

export default implementRotator<HttpParams>(descriptor, {
  async generate(ctx, current) {
    const old = current ?? (await initialValue(ctx));
    // With `list`, the account's keys are this secret's: any but CURRENT is an orphan (a create
    // whose answer a crash lost before the key was stored) that would count against the API's limit.
    if (current && ctx.params.target.requests.list) await sweep(ctx, current);
    const answer = await sendStep(ctx, 'create', old ? { current: old } : {}, timeoutOf(ctx));
    const json = answer.json();
    const value: Record<string, string | number> = {};
    for (const [field, path] of Object.entries(ctx.params.target.requests.create.extract ?? {})) {
      value[field] = extractOne(json, path, field, 'create', answer.status);
    }
    // Every extracted text is kept out of logs, secret-named or not: the API chose them, not rotor.
    for (const v of Object.values(value)) trackSecret(String(v));
    return value;
  },

  // The key exists from the moment create answered; verify-new checks that it works.
  async apply() {},

  async verify(ctx, value) {
    await sendStep(ctx, 'verify', { next: value }, timeoutOf(ctx));
  },

  async revoke(ctx, revoke, keep) {
    if (keep) {
      await revokeKeeping(ctx, revoke, keep);
      return;
    }
    // The undo of a first rotation's key (invariant 8): nothing of rotor's stays. The key in use
    // before rotor (`initial`) is the one that stays; without one, the key being revoked stands in
    // for `{{ next.* }}` (an API where a key manages keys lets it delete itself).
    const initial = await initialValue(ctx);
    if (initial && !sameKey(initial, revoke)) await revokeKeeping(ctx, revoke, initial);
    else await sendStep(ctx, 'revoke', { current: revoke, next: revoke }, timeoutOf(ctx));
  },

  async revokeInherited(ctx, keep) {
    let removed = 0;
    const initial = await initialValue(ctx);
    if (initial && !sameKey(initial, keep)) {
      removed += (await revokeKeeping(ctx, initial, keep)) ? 1 : 0;
    }
    if (ctx.params.target.requests.list) removed += await sweep(ctx, keep);
    return removed;
  },

  // Called only when the policy has target.requests.inUse (traits.drain).
  async inUse(ctx, value) {
    const template = ctx.params.target.requests.inUse;
    if (!template) return 0;
    const answer = await sendStep(ctx, 'inUse', { current: value }, timeoutOf(ctx));
    const count = Number(extractOne(answer.json(), template.extract?.count ?? '$.count', 'count', 'inUse', answer.status));
    if (!Number.isInteger(count) || count < 0) {
      throw new PermanentError(`http rotator: inUse answered HTTP ${answer.status} with a count that is not a whole number`, {
        hint: 'check target.requests.inUse.extract.count against what the API answers',
      });
    }
    return count;
  },
});

/**
 * Revokes `revoke` after checking that `keep` works: a revoke never leaves the account without a
 * working key. True when the API answered with a status other than 404 (something was removed).
 */
async function revokeKeeping(ctx: Ctx, revoke: SecretValue, keep: SecretValue): Promise<boolean> {
  try {
    await sendStep(ctx, 'verify', { next: keep }, timeoutOf(ctx));
  } catch (err) {
    throw new PermanentError(
      `http rotator: the key that must stay does not work, so the other one is not revoked (${(err as Error).message})`,
      {
        hint: 'check the key in CURRENT against the API; rotor revokes nothing while it fails',
      },
    );
  }
  const answer = await sendStep(ctx, 'revoke', { current: revoke, next: keep }, timeoutOf(ctx));
  return answer.status !== 404;
}

/** Revokes every key the list shows but `keep`; returns how many. */
async function sweep(ctx: Ctx, keep: SecretValue): Promise<number> {
  const list = ctx.params.target.requests.list!;
  const answer = await sendStep(ctx, 'list', { next: keep }, timeoutOf(ctx));
  const json = answer.json();
  const columns = Object.entries(list.extract ?? {}).map(([field, path]) => [field, select(json, path)] as const);
  const rows = Math.max(0, ...columns.map(([, values]) => values.length));
  let removed = 0;
  for (let i = 0; i < rows; i++) {
    const key: Record<string, string | number> = {};
    for (const [field, values] of columns) {
      const v = values[i];
      if (typeof v === 'string' || typeof v === 'number') key[field] = v;
    }
    if (Object.keys(key).length !== columns.length) {
      throw new PermanentError(`http rotator: list answered HTTP ${answer.status} with lists of different lengths`, {
        hint: 'every path under target.requests.list.extract must select one value per key',
      });
    }
    if (sameKey(key, keep)) continue;
    if (await revokeKeeping(ctx, key, keep)) removed++;
  }
  return removed;
}

/** True when every field `a` has (the fields a listing or `initial` gives) is the same in `b`. */
function sameKey(a: SecretValue, b: SecretValue): boolean {
  return Object.entries(a).every(([k, v]) => String(b[k]) === String(v));
}

/** The credential in use before rotor (`initial`), references resolved; null when the policy has none. */
async function initialValue(ctx: Ctx): Promise<SecretValue | null> {
  const initial = ctx.params.target.initial;
  if (!initial) return null;
  const value: Record<string, string> = {};
  for (const [field, text] of Object.entries(initial)) {
    const resolved = /^(env|file|aws-sm):/.test(text) ? await ctx.resolveRef(text) : text;
    if (isSecretKey(field)) trackSecret(resolved);
    value[field] = resolved;
  }
  return value;
}
