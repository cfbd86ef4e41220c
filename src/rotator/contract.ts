// The rotator contract: what a plug-in must implement to rotate one kind of target. Public API.
import type { z } from 'zod';
import type { Logger } from '../log.js';

/** Bumped when the contract changes incompatibly; plug-ins declare the version they implement. */
export const ROTATOR_CONTRACT_VERSION = 1;

/**
 * A credential as the secret store keeps it: a flat JSON object. Database credentials use the
 * layout of AWS's rotation templates (username, password, host, port, dbname, engine) so that
 * applications which already read AWSCURRENT keep working.
 */
export type SecretValue = Readonly<Record<string, string | number>>;

/** What a rotator learns about a secret's parameters before it runs (used by `plan`, the engine). */
export interface RotatorTraits {
  /**
   * True when old and new credentials both work between apply and revoke (dual-credential
   * strategies). False (a single-user password) means consumers see a short window in which the
   * credential they hold fails; `plan` flags it.
   */
  overlap: boolean;
  /** True when the rotator can count live sessions of a credential (the drain check). */
  drain: boolean;
  /**
   * True when the secret store is the only place the credential works (random-secret: API keys
   * and signing keys that consumers read from the store). PREVIOUS stays readable through grace
   * for consumers that accept two keys; the revoke step then clears it.
   */
  storeIsTarget?: boolean;
  /**
   * With storeIsTarget: CURRENT also carries the value before it, under PREVIOUS_FIELD, for
   * consumers that read one value and accept a list of keys (session middleware). The revoke step
   * publishes CURRENT again without it and tells the consumers that carry values.
   */
  publishesPrevious?: boolean;
  /** Identity of the target system, e.g. `postgres://db.internal:5432/payments`; used to stagger. */
  targetKey: string;
  /**
   * Set when the policy chose a transport that is not verified TLS (`sslmode: prefer`, `require`,
   * `disable`; Redis without verified TLS): what was chosen, e.g. `sslmode=prefer`. `plan` flags it.
   */
  weakTransport?: string;
  /**
   * True when the first successful rotation revokes the credentials the target had before rotor
   * (every other password of the user): `plan` says so, since whatever still uses them stops working.
   */
  revokesInherited?: boolean;
}

/** The field of a CURRENT value that carries the value before it during grace (traits.publishesPrevious). */
export const PREVIOUS_FIELD = 'previous';

export interface RotatorContext<P> {
  readonly secretId: string;
  readonly runId: string;
  readonly params: P;
  /** Resolves a reference (`env:NAME`, `file:PATH`, `aws-sm:ID`) to its value. */
  resolveRef(ref: string): Promise<string>;
  readonly log: Logger;
  /** Aborted when the worker shuts down or the step times out. */
  readonly signal: AbortSignal;
  /**
   * The secret's drain mode. With `terminate` the engine may call `terminate`, so a preflight
   * checks the rotator will be allowed to (rather than find out after promote). Absent outside runs.
   */
  readonly drainMode?: 'wait' | 'terminate' | 'fail';
  /**
   * What started the run (an emergency may cut short what a routine run waits for; `attest` is a
   * manual secret's value handed over by a person). Absent outside runs.
   */
  readonly trigger?: 'schedule' | 'manual' | 'emergency' | 'attest';
}

/** What a step records about itself beside its status (`rotor history` shows it); never a value. */
export type StepDetail = Readonly<Record<string, string | number | boolean>>;

export interface Rotator<P = unknown> {
  readonly name: string;
  readonly contractVersion: typeof ROTATOR_CONTRACT_VERSION;
  /** Validates the rotator's parameters in a policy (`strategy`, `target`, `generate`, ...). */
  readonly paramsSchema: z.ZodType<P>;
  /**
   * Traits of validated params. `secretId` names the secret, for rotators whose target is the
   * secret itself (random-secret); rotators that do not need it may ignore it.
   */
  traits(params: P, secretId: string): RotatorTraits;
  /**
   * Checks the target is set up as the strategy needs (roles exist, memberships hold). Throws a
   * PermanentError with what to fix when it is not. Runs before every run's create step.
   */
  preflight?(ctx: RotatorContext<P>, current: SecretValue | null): Promise<void>;
  /**
   * Generates a fresh credential in memory. Pure: applies nothing. `current` is null the first
   * time a secret is rotated (the rotator then bootstraps from its parameters).
   */
  generate(ctx: RotatorContext<P>, current: SecretValue | null): Promise<SecretValue>;
  /** Makes `next` work against the target. Idempotent: if `next` already works, does nothing. */
  apply(ctx: RotatorContext<P>, next: SecretValue, current: SecretValue | null): Promise<void>;
  /**
   * Authenticates against the target with `value`; throws when it does not work. May return what
   * the verify-new step records in its details (how long the target took to accept the credential).
   */
  verify(ctx: RotatorContext<P>, value: SecretValue): Promise<void | StepDetail>;
  /**
   * Makes `revoke` stop working while `keep` goes on working. Idempotent. Used for the old
   * credential after a successful run, and for the new one on discard and rollback (with
   * `keep` = the old one), so single-credential strategies restore `keep` here.
   *
   * `keep` is null when nothing of rotor's stays: the undo of a first rotation's credential (a run
   * with no CURRENT that failed before its credential became CURRENT; docs/design.md, invariant 8).
   * Then only `revoke` goes, and only if it is what the target has: a credential that never took
   * (apply failed before it changed anything) leaves the target as it was, since what it has then
   * is what consumers used before rotor. Never throw just because `keep` is null: the credential
   * would stay live with nobody to track it.
   */
  revoke(ctx: RotatorContext<P>, revoke: SecretValue, keep: SecretValue | null): Promise<void>;
  /**
   * Makes every credential of the target other than `keep` stop working: those it had before
   * rotor, which rotor cannot name from the store. The engine calls it at the revoke step, before
   * the old credential's revoke (which must then still succeed: revoke is idempotent), of every
   * run that gets there while the secret has never rotated successfully (its first rotation, or
   * the next one after a first rotation was rolled back with its credential kept CURRENT) and of
   * any run with no old version (docs/design.md, invariant 7): that run ends with only rotor's
   * credential valid. Rotators that implement it say
   * `revokesInherited` in their traits (plan reports it); rotators whose apply already replaces
   * the credential (a single-user password) need neither. Returns how many credentials it
   * removed. Idempotent.
   */
  revokeInherited?(ctx: RotatorContext<P>, keep: SecretValue): Promise<number>;
  /** Live sessions still using `value` (the drain check). Only when traits().drain. */
  inUse?(ctx: RotatorContext<P>, value: SecretValue): Promise<number>;
  /** Ends live sessions of `value`; returns how many. Used when the drain policy says terminate. */
  terminate?(ctx: RotatorContext<P>, value: SecretValue): Promise<number>;
}

/** Identity helper that exists for type inference in rotator modules. */
export function defineRotator<P>(rotator: Rotator<P>): Rotator<P> {
  return rotator;
}

/**
 * One rotator kind, declared once (`rotators/<name>/descriptor.ts`): what validate, plan, sync,
 * the engine and conformance all read. It is cheap to import: schema and traits only, the
 * implementation (and its drivers) loads on demand.
 */
export interface RotatorDescriptor<P = unknown> {
  /** The name a policy writes as `rotator:`. */
  readonly name: string;
  /** Validates the rotator's parameters; its output (defaults applied) is what the rotator gets. */
  readonly paramsSchema: z.ZodType<P>;
  /** What the rotator promises for these params; the one definition, never restated. */
  traits(params: P, secretId: string): RotatorTraits;
  /** Imports the implementation: a module whose default export is the rotator. */
  load(): Promise<{ default: Rotator<P> }>;
}

/** Identity helper that exists for type inference in descriptor modules. */
export function defineRotatorDescriptor<P>(descriptor: RotatorDescriptor<P>): RotatorDescriptor<P> {
  return descriptor;
}

/** What an implementation adds to its descriptor: the operations. */
export type RotatorMethods<P> = Omit<Rotator<P>, 'name' | 'contractVersion' | 'paramsSchema' | 'traits'>;

/**
 * A built-in rotator: its descriptor's name, schema and traits with the implementation's
 * operations, so the implementation never keeps a second copy of what the descriptor says.
 */
export function implementRotator<P>(descriptor: RotatorDescriptor<P>, methods: RotatorMethods<P>): Rotator<P> {
  return {
    name: descriptor.name,
    contractVersion: ROTATOR_CONTRACT_VERSION,
    paramsSchema: descriptor.paramsSchema,
    traits: (params, secretId) => descriptor.traits(params, secretId),
    ...methods,
  };
}
