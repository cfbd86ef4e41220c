// The fields every consumer entry has, whatever its type, and how a type's schema and params are
// built on them: resolved by the policy loader (name, wave, timings), never passed as params.
import { z } from 'zod';
import { parseDuration } from '../policy/duration.js';
import { duration, simpleName } from '../policy/fields.js';

/** Fields every consumer has; they are resolved by the policy loader, not passed as params. */
export const COMMON_CONSUMER_KEYS = ['type', 'name', 'wave', 'cacheTtl', 'confirmTimeout'] as const;

const common = {
  /** @defaultValue `<type>-<position>` */
  name: simpleName('consumer name').optional(),
  /** Wave 1 is told first; a wave starts when every consumer of the previous one confirmed. @defaultValue 1 */
  wave: z.number().int().min(1).max(100).optional(),
  /** How long the application may keep using a value it cached; plan compares it with grace. */
  cacheTtl: duration().optional(),
  /** @defaultValue the secret's confirmTimeout */
  confirmTimeout: duration().optional(),
};

/** A consumer type's entry schema: its `type`, the common fields and its own (unknown fields are errors). */
export function consumerEntrySchema<T extends string, S extends z.ZodRawShape>(type: T, own: S) {
  return z.strictObject({ type: z.literal(type), ...common, ...own });
}

/** A consumer type's params: its validated entry without the common fields. */
export type ConsumerParamsOf<S extends z.ZodType> = Omit<z.infer<S>, (typeof COMMON_CONSUMER_KEYS)[number]>;

/** Milliseconds of a policy duration, or `fallback` when absent (tests build params by hand). */
export function durationMs(text: string | undefined, fallback: number): number {
  return (text === undefined ? undefined : parseDuration(text)) ?? fallback;
}
