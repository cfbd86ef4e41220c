// The aws-iam-access-key rotator: an IAM user's access key, rotated in IAM's two slots (two keys per
// user). create takes back the key of a CreateAccessKey whose answer never reached the store
// (intent.ts), makes room (a key rotor deactivated whose hold is over) and calls CreateAccessKey;
// verify signs sts:GetCallerIdentity with the new key, waiting (bounded) while IAM's eventual
// consistency settles; revoke deactivates the old key and tags the user with when, so it can be
// brought back until `deleteAfter` has passed; the next rotation's create deletes it after that.
// A key rotor did not deactivate (someone else's, or one brought back) is never deleted or
// deactivated: rotor refuses with its id instead. docs/aws.md describes the whole model.
import { PermanentError, UnavailableError } from '../../src/errors.js';
import { parseDuration } from '../../src/policy/duration.js';
import { trackSecret } from '../../src/redact.js';
import { implementRotator, type RotatorContext, type SecretValue, type StepDetail } from '../../src/rotator/contract.js';
import { sleep } from '../../src/sleep.js';
import descriptor from './descriptor.js';
import { IamUser, label, type KeyFacts } from './iam.js';
import { INTENT_WINDOW_MS, intentTagKey, orphanCandidates } from './intent.js';
import type { AwsIamAccessKeyParams } from './schema.js';
import { classify, planSlots, type ClassifiedKey } from './slots.js';
import { callerArn, isUserArn } from './sts.js';

export { awsIamAccessKeyParamsSchema, type AwsIamAccessKeyParams } from './schema.js';

type Ctx = RotatorContext<AwsIamAccessKeyParams>;

/**
 * When this process last verified each key (id → ms). rotor's own GetCallerIdentity is a use IAM
 * records like any other; the drain check must not take it for a consumer's.
 */
const verifiedAt = new Map<string, number>();
const MAX_REMEMBERED = 1_000;

/** The first wait between two STS tries while a new key settles; doubled up to SETTLE_MAX_STEP_MS. */
const SETTLE_FIRST_STEP_MS = 250;
const SETTLE_MAX_STEP_MS = 4_000;

export default implementRotator<AwsIamAccessKeyParams>(descriptor, {
  async preflight(ctx, current) {
    if (ctx.drainMode === 'terminate') {
      throw new PermanentError(`${ctx.secretId}: drain.mode terminate cannot apply to an access key: it has no sessions to end`, {
        hint: 'set drain.mode to wait (revoke waits until the old key is quiet) or fail; nothing was changed',
      });
    }
    if (current) trackSecret(current);
    // The user exists and rotor may list its keys: a missing permission shows here, before anything changes.
    await withUser(ctx, (iam) => iam.keys());
  },

  async generate(ctx, current) {
    const currentId = current ? keyIdOf(current, 'CURRENT') : undefined;
    const tagKey = intentTagKey(ctx.secretId);
    const key = await withUser(ctx, async (iam) => {
      await takeBackOrphans(ctx, iam, tagKey, currentId);
      const known = await makeRoom(ctx, iam, currentId);
      // Recorded before the call: if its answer never reaches the store, the next create step knows the key for its own.
      await iam.markCreating(tagKey, { runId: ctx.runId, at: new Date(), known });
      return iam.create(tagKey);
    });
    trackSecret(key);
    ctx.log.info({ accessKey: label(key.accessKeyId) }, `created access key ${label(key.accessKeyId)} for ${ctx.params.target.userName}`);
    // The layout of AWS's own samples; fields rotor does not own are kept.
    return { ...(current ?? {}), accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
  },

  async apply(ctx, next) {
    // CreateAccessKey made the key active; apply makes sure it still is (idempotent).
    const id = keyIdOf(next, 'the new credential');
    await withUser(ctx, async (iam) => {
      // The engine stored the key (PENDING) before apply: the intent recorded for it has served.
      await iam.unmarkCreating(intentTagKey(ctx.secretId));
      const key = (await iam.keys()).find((k) => k.id === id);
      // Not permanent: a retried create makes a fresh key.
      if (!key) throw new Error(`${ctx.secretId}: access key ${label(id)} is no longer on user ${iam.userName}`);
      if (key.status === 'Inactive') await iam.setStatus(id, 'Active');
    });
  },

  async verify(ctx, value) {
    return verifyKey(ctx, value);
  },

  async revoke(ctx, revoke, keep) {
    const id = keyIdOf(revoke, 'the credential to revoke');
    // keep null: the undo of a first rotation's key (invariant 8), which no consumer was told to use.
    const keepId = keep ? keyIdOf(keep, 'the credential to keep') : undefined;
    if (id === keepId) throw new PermanentError(`${ctx.secretId}: asked to revoke the access key it keeps (${label(id)})`);
    await withUser(ctx, async (iam) => {
      const keys = await iam.keys();
      const key = keys.find((k) => k.id === id);
      const held = await iam.held();
      if (!key) {
        // Gone already (a second pass, or deleted by hand): only the tag may remain.
        if (held.has(id)) await iam.unmarkHeld([id]);
        return;
      }
      const kept = keys.find((k) => k.id === keepId);
      if (!keep || (kept && key.created.getTime() > kept.created.getTime())) {
        // The newer key goes: a discarded or rolled-back credential, which consumers were told to leave.
        // Nobody will want it back, and its slot is needed for the next attempt.
        await iam.delete(id);
        if (held.has(id)) await iam.unmarkHeld([id]);
        ctx.log.info({ accessKey: label(id) }, `deleted access key ${label(id)}: it never became (or no longer is) the one in use`);
        return;
      }
      // Tagged first: a key rotor deactivated always says when, so its hold is known and it is never mistaken for someone else's.
      if (!held.has(id)) await iam.markHeld(id, new Date());
      if (key.status === 'Active') await iam.setStatus(id, 'Inactive');
      ctx.log.info(
        { accessKey: label(id), deleteAfter: ctx.params.target.deleteAfter },
        `deactivated access key ${label(id)}; it is deleted after ${ctx.params.target.deleteAfter}, at the next rotation`,
      );
    });
  },

  async inUse(ctx, value) {
    const id = keyIdOf(value, 'the old credential');
    return withUser(ctx, async (iam) => {
      const keys = await iam.keys();
      const used = await iam.lastUsed(id);
      // Never used, or last used by rotor's own verify: no consumer holds it.
      if (!used || used.getTime() <= (verifiedAt.get(id) ?? -Infinity)) return 0;
      // "After promote": the newest other key is this rotation's, created just before it was promoted.
      const newest = keys.filter((k) => k.id !== id).at(-1);
      const window = parseDuration(ctx.params.target.lastUsedWindow) ?? 900_000;
      const since = Math.max(Date.now() - window, newest?.created.getTime() ?? 0);
      return used.getTime() >= since ? 1 : 0;
    });
  },
});

async function withUser<T>(ctx: Ctx, fn: (iam: IamUser) => Promise<T>): Promise<T> {
  const iam = new IamUser(ctx.params.target.userName, ctx.params.target.region, ctx.log);
  try {
    return await fn(iam);
  } finally {
    iam.close();
  }
}

function keyIdOf(value: SecretValue, what: string): string {
  const id = value.accessKeyId;
  if (typeof id !== 'string' || !id || typeof value.secretAccessKey !== 'string') {
    throw new PermanentError(`${what} has no accessKeyId and secretAccessKey`, {
      hint: 'the store must hold { accessKeyId, secretAccessKey } for this secret (the layout of AWS samples)',
    });
  }
  return id;
}

/**
 * Deletes the key an interrupted CreateAccessKey of this secret made (intent.ts): the user carries
 * the intent rotor recorded before the call, and a key that fits it (not among the keys the user
 * had, created within minutes of the call, active) and that IAM says was never used is that call's
 * own: its secret was never stored, so nothing can use it. A key that was used is someone else's
 * and is left alone (the slot rules then name it). The intent goes once it is settled.
 */
async function takeBackOrphans(ctx: Ctx, iam: IamUser, tagKey: string, currentId: string | undefined): Promise<void> {
  const { found, intent } = await iam.intent(tagKey);
  if (!found) return;
  if (intent) {
    for (const k of orphanCandidates(await iam.keys(), intent, currentId)) {
      if (await iam.lastUsed(k.id)) {
        ctx.log.warn(
          { accessKey: k.id, created: k.created.toISOString() },
          `access key ${k.id} appeared while run ${intent.runId}'s CreateAccessKey was in flight, but it has been used: not rotor's, left alone`,
        );
        continue;
      }
      await iam.delete(k.id);
      ctx.log.warn(
        { accessKey: label(k.id), created: k.created.toISOString(), interruptedRun: intent.runId },
        `deleted access key ${label(k.id)}: run ${intent.runId}'s CreateAccessKey made it (within ${INTENT_WINDOW_MS / 60_000} minutes of ${intent.at.toISOString()}) and its answer never reached the store, so nothing can use it`,
      );
    }
  }
  await iam.unmarkCreating(tagKey);
}

/**
 * Deletes what may be deleted so that CreateAccessKey finds a free slot; refuses when nothing may.
 * Returns the ids of the keys the user keeps: none of them can be the coming call's.
 */
async function makeRoom(ctx: Ctx, iam: IamUser, currentId: string | undefined): Promise<string[]> {
  const holdMs = parseDuration(ctx.params.target.deleteAfter) ?? 7 * 86_400_000;
  const [keys, held] = await Promise.all([iam.keys(), iam.held()]);
  const now = new Date();
  const plan = planSlots(classify(keys, currentId, held, holdMs), now, ctx.trigger === 'emergency');
  if (plan.blocked) throw refusal(ctx, plan.blocked, currentId !== undefined);
  for (const k of [...plan.expired, ...(plan.early ? [plan.early] : [])]) {
    await iam.delete(k.id);
    const early = k === plan.early;
    ctx.log[early ? 'warn' : 'info'](
      { accessKey: label(k.id), heldSince: heldSince(k) },
      early
        ? `deleted held access key ${label(k.id)} before its deleteAfter ended: an emergency rotation needs its slot`
        : `deleted access key ${label(k.id)}: deactivated at ${heldSince(k)}, its deleteAfter (${ctx.params.target.deleteAfter}) is over`,
    );
  }
  // Tags of keys that are gone (deleted now, or by hand) go too: a user has room for 50 tags.
  const deleted = new Set([...plan.expired, ...(plan.early ? [plan.early] : [])].map((k) => k.id));
  const present = new Set(keys.map((k) => k.id).filter((id) => !deleted.has(id)));
  await iam.unmarkHeld([...held.keys()].filter((id) => !present.has(id)));
  return [...present];
}

function heldSince(k: ClassifiedKey): string | undefined {
  return k.role.kind === 'held' ? k.role.since.toISOString() : undefined;
}

/** Why no slot can be freed, with each key in the way, and what to do. */
function refusal(ctx: Ctx, blocked: ClassifiedKey[], hasCurrent: boolean): PermanentError {
  const user = ctx.params.target.userName;
  const why = blocked.map((k) => {
    const created = k.created.toISOString();
    switch (k.role.kind) {
      case 'held':
        return `${label(k.id)} (deactivated by rotor at ${k.role.since.toISOString()}, held until ${k.role.until.toISOString()} by deleteAfter: ${ctx.params.target.deleteAfter})`;
      case 'active-other':
        return k.role.reactivated
          ? `${label(k.id)} (ACTIVE again after rotor deactivated it: someone brought it back, so something may use it)`
          : `${k.id} (ACTIVE, created ${created}, not the key rotor holds as CURRENT)`;
      case 'inactive-other':
        return `${k.id} (inactive, created ${created}, deactivated by someone other than rotor)`;
      case 'current':
        return label(k.id);
    }
  });
  const onlyHeld = blocked.every((k) => k.role.kind === 'held');
  return new PermanentError(
    `${ctx.secretId}: IAM user ${user} has no free slot for a new access key (two per user), and rotor may not delete: ${why.join('; ')}`,
    {
      hint: onlyHeld
        ? `wait until the hold ends, lower deleteAfter, rotate with --emergency (which ends the hold), or delete the held key yourself: aws iam delete-access-key --user-name ${user} --access-key-id <id>`
        : `rotor never deletes or deactivates a key it did not deactivate itself. When nothing uses the key${blocked.length > 1 ? 's' : ''} any more, deactivate or delete ${blocked.length > 1 ? 'them' : 'it'}: aws iam delete-access-key --user-name ${user} --access-key-id <id>${hasCurrent ? '' : "; if it is the key consumers use today, rotor's first rotation fits in the other slot once that one is free"}; then rotate again. rotor deletes a key of its own whose CreateAccessKey answer never reached the store (docs/aws.md, Interrupted creates), and could not show that any key named here is one`,
    },
  );
}

/**
 * Signs sts:GetCallerIdentity with the key. A refusal of a key IAM lists as active and new is IAM's
 * eventual consistency: asked again with growing pauses until `settleTimeout`. A key IAM does not
 * list, or lists as inactive, fails at once.
 */
async function verifyKey(ctx: Ctx, value: SecretValue): Promise<StepDetail> {
  const id = keyIdOf(value, 'the credential to verify');
  const key = { accessKeyId: id, secretAccessKey: String(value.secretAccessKey) };
  const { userName, region } = ctx.params.target;
  const timeoutMs = parseDuration(ctx.params.target.settleTimeout) ?? 60_000;
  const started = Date.now();
  let step = SETTLE_FIRST_STEP_MS;
  for (let attempt = 1; ; attempt++) {
    const arn = await callerArn(key, region, ctx.log, ctx.signal);
    if (arn !== null) {
      if (!isUserArn(arn, userName)) {
        throw new PermanentError(`${ctx.secretId}: access key ${label(id)} signs as ${arn}, not as IAM user ${userName}`, {
          hint: 'the store holds a key of another identity; check target.userName',
        });
      }
      verifiedAt.delete(id);
      verifiedAt.set(id, Date.now());
      if (verifiedAt.size > MAX_REMEMBERED) verifiedAt.delete(verifiedAt.keys().next().value!);
      const waitedMs = Date.now() - started;
      if (attempt > 1) ctx.log.info({ accessKey: label(id), attempts: attempt, waitedMs }, `STS accepted access key ${label(id)}`);
      return { stsAttempts: attempt, settledMs: waitedMs };
    }
    const facts = await withUser(ctx, async (iam) => (await iam.keys()).find((k) => k.id === id));
    if (!settling(facts, timeoutMs)) {
      throw new Error(
        `${ctx.secretId}: STS refused access key ${label(id)} of ${userName}` +
          (facts ? ` (IAM lists it as ${facts.status})` : ` (IAM lists no such key for ${userName})`),
      );
    }
    if (Date.now() - started + step > timeoutMs) {
      throw new UnavailableError(
        `${ctx.secretId}: STS still refuses the new access key ${label(id)} ${Math.round((Date.now() - started) / 1000)}s after IAM created it (${attempt} tries)`,
        { hint: 'IAM usually accepts a new key within seconds; raise target.settleTimeout if this account is slower' },
      );
    }
    await sleep(step, ctx.signal);
    step = Math.min(step * 2, SETTLE_MAX_STEP_MS);
  }
}

/** True while a refusal can be IAM's eventual consistency: the key is listed, active, and younger than the timeout. */
function settling(facts: KeyFacts | undefined, timeoutMs: number): boolean {
  return facts !== undefined && facts.status === 'Active' && Date.now() - facts.created.getTime() < timeoutMs;
}
