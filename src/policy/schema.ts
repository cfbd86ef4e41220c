// The shape of a policy file, its classes and its secrets, as zod schemas. Values that need more
// than a shape (cadence, window hours, time zones, references) are checked by the loader, which
// can say more than "invalid". Rotator, store and consumer parameters have their own schemas.
import { z } from 'zod';
import { duration, simpleName } from './fields.js';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

export const windowSchema = z.strictObject({
  /** @defaultValue every day */
  days: z
    .array(z.enum(WEEKDAYS, { error: 'must be a weekday: mon, tue, wed, thu, fri, sat or sun' }))
    .min(1)
    .optional(),
  /** `HH:MM-HH:MM` local to tz; may cross midnight. @defaultValue 00:00-24:00 */
  hours: z.string().optional(),
  /** IANA time zone. @defaultValue UTC */
  tz: z.string().optional(),
});

/** One freeze window (src/policy/freeze.ts): a range `from`-`to`, or a `cron` start and a `duration`. */
export const freezeSchema = z.strictObject({
  /** ISO date or date and time, local to tz. */
  from: z.string().optional(),
  /** ISO date (the whole day is frozen) or date and time, local to tz. */
  to: z.string().optional(),
  /** Each time it fires, a span of `duration` starts. */
  cron: z.string().optional(),
  duration: duration().optional(),
  /** @defaultValue UTC */
  tz: z.string().optional(),
  /** Shown by plan and in refusals, e.g. "month-end close". */
  reason: z.string().optional(),
});
export type RawFreeze = z.infer<typeof freezeSchema>;

/** What a class sets, and what a secret may override. */
export const classFields = {
  /** An interval (`30d`) or `{ cron: "0 3 * * 1", tz: Europe/Berlin }`. Checked by the loader. */
  cadence: z.unknown().optional(),
  grace: duration().optional(),
  window: windowSchema.optional(),
  jitter: duration().optional(),
  emergencyGrace: duration().optional(),
  retry: z
    .strictObject({
      attempts: z.number().int().min(1).max(50).optional(),
      backoff: duration().optional(),
      maxBackoff: duration().optional(),
    })
    .optional(),
  drain: z
    .strictObject({
      mode: z.enum(['wait', 'terminate', 'fail']).optional(),
      timeout: duration().optional(),
    })
    .optional(),
  confirmTimeout: duration().optional(),
  /** Added to the file's and the class's freezes, never replacing them. */
  freezes: z.array(freezeSchema).optional(),
};

export const classSchema = z.strictObject(classFields);
export type RawClass = z.infer<typeof classSchema>;

export const cronCadenceSchema = z.strictObject({
  cron: z.string({ error: 'must be a cron expression in quotes, e.g. "0 3 * * 1"' }),
  /** @defaultValue the window's tz, else UTC */
  tz: z.string().optional(),
});

/**
 * A secret as written. Rotator parameters (`strategy`, `target`, `generate`, `overlap`), `store`
 * and each consumer are only roughly typed here; their own schemas check them next.
 */
export const secretSchema = z.strictObject({
  id: z.string(),
  owner: z.string().min(1).optional(),
  description: z.string().optional(),
  class: z.string().optional(),
  tags: z.array(simpleName('tag')).optional(),
  rotator: z.string(),
  strategy: z.unknown().optional(),
  target: z.unknown().optional(),
  generate: z.unknown().optional(),
  overlap: z.unknown().optional(),
  store: z.looseObject({ backend: z.string() }).optional(),
  consumers: z.array(z.looseObject({ type: z.string() })).optional(),
  /** Ids of secrets an incident rotates before this one; validate checks they exist and form no cycle. */
  dependsOn: z.array(z.string()).optional(),
  ...classFields,
});
export type RawSecret = z.infer<typeof secretSchema>;

export const TOP_LEVEL_KEYS = ['classes', 'secrets', 'freezes'] as const;

/**
 * Secret ids are path-like (`payments/db-app`): lower-case segments of letters, digits, `.`, `_`,
 * `-`, joined by `/`. No `:` (BullMQ forbids it in job ids) and no empty or dot-only segments.
 */
export const SECRET_ID = /^[a-z0-9][a-z0-9._-]*(?:\/[a-z0-9][a-z0-9._-]*)*$/;
/**
 * Longest id: an id is the default local-store name (at most 512 characters) and names the AWS
 * secret of policies that derive it (Secrets Manager allows 512).
 */
export const SECRET_ID_MAX = 512;
export const CLASS_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
