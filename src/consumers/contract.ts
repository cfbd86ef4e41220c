// The consumer contract: how rotor tells an application about a new version and learns it took it.
import type { z } from 'zod';
import { PermanentError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SecretValue } from '../rotator/contract.js';

export interface ConsumerNotice {
  secretId: string;
  runId: string;
  /** The version that is now CURRENT. */
  versionId: string;
  /** Where consumers read the secret from (store backend and location); never the value. */
  store: { backend: string; location: string };
  /** When the old credential will be revoked at the earliest (end of grace). */
  revokeAfter: Date;
}

export interface ConsumerContext<P> {
  readonly params: P;
  resolveRef(ref: string): Promise<string>;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

export interface Consumer<P = unknown> {
  readonly type: string;
  /**
   * True for types whose job is to carry the value to the application (env-file, command).
   * Only these receive it; every other type gets ids and locations only.
   */
  readonly carriesValue: boolean;
  /** Tells the consumer that `notice.versionId` is current. Idempotent. */
  notify(ctx: ConsumerContext<P>, notice: ConsumerNotice, value: SecretValue | undefined): Promise<void>;
  /**
   * The version the consumer reports it now uses, or null when it cannot tell yet.
   * A consumer with no way to report (a plain file) confirms once notify succeeded. Types that
   * carry the value get it here too (undefined for the others), so one that lost track of its
   * notify (a worker restarted in between) can deliver again.
   */
  confirm(ctx: ConsumerContext<P>, notice: ConsumerNotice, value?: SecretValue): Promise<string | null>;
}

/**
 * One consumer type, declared once (`src/consumers/<type>/descriptor.ts`): what validate reads
 * and what the engine loads. Cheap to import: the schema only, the implementation loads on demand.
 */
export interface ConsumerDescriptor<P = unknown> {
  /** The `type:` a policy writes. */
  readonly type: string;
  /** See Consumer.carriesValue: whether the engine hands this type the value at all. */
  readonly carriesValue: boolean;
  /** Validates one consumer entry, `type` and the common fields included; unknown fields are errors. */
  readonly schema: z.ZodType<Record<string, unknown>>;
  /** Imports the implementation. */
  load(): Promise<Consumer<P>>;
}

/** What an implementation adds to its descriptor: the operations. */
export type ConsumerMethods<P> = Pick<Consumer<P>, 'notify' | 'confirm'>;

/** A built-in consumer: its descriptor's type and carriesValue with the implementation's operations. */
export function implementConsumer<P>(descriptor: ConsumerDescriptor<P>, methods: ConsumerMethods<P>): Consumer<P> {
  return { type: descriptor.type, carriesValue: descriptor.carriesValue, ...methods };
}

/**
 * Thrown by confirm when the consumer can never take this version (its rollout FAILED, the platform
 * rolled it back, the workload does not exist): the engine rolls the run back at once instead of
 * asking again until confirmTimeout. Any other error is recorded and asked about again.
 */
export class CannotConfirmError extends PermanentError {
  override name = 'CannotConfirmError';
}
