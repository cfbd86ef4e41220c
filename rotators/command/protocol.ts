// The command rotator's protocol, version 1: one JSON request on the executable's stdin per
// operation, one JSON answer on its stdout. docs/command-rotator.md describes it for script authors.
import { z } from 'zod';
import type { SecretValue } from '../../src/rotator/contract.js';

export const PROTOCOL_VERSION = 1;

export const OPERATIONS = ['generate', 'apply', 'verify', 'revoke', 'in-use', 'revoke-inherited'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** What rotor writes to stdin. Which credential fields are present depends on `op`. */
export interface CommandRequest {
  protocol: typeof PROTOCOL_VERSION;
  op: Operation;
  secretId: string;
  runId: string;
  /** `target.config` from the policy. */
  config: Record<string, unknown>;
  /** generate, apply: the credential consumers use now; null the first time. */
  current?: SecretValue | null;
  /** apply: the credential to make work (as generate returned it). */
  new?: SecretValue;
  /** verify, in-use: the credential to check. */
  value?: SecretValue;
  /** revoke: the credential to make stop working ... */
  old?: SecretValue;
  /**
   * ... while this one goes on working (revoke-inherited: the only one left working). revoke:
   * null when nothing of rotor's stays (a failed first rotation's credential is taken back).
   */
  keep?: SecretValue | null;
}

/** A flat credential, as stores keep it. */
const valueSchema = z.record(z.string(), z.union([z.string(), z.number()]));

/** Any operation may fail with this instead of its answer (exit code 0 or not). */
const failure = z.object({
  error: z.string(),
  /** True when retrying cannot help: the run ends in needs-attention at once. */
  permanent: z.boolean().optional(),
  hint: z.string().optional(),
});

export const ANSWERS = {
  generate: z.object({ value: valueSchema.refine((v) => Object.keys(v).length > 0, { message: 'value must have at least one field' }) }),
  apply: z.object({ ok: z.literal(true) }),
  revoke: z.object({ ok: z.literal(true) }),
  verify: z.object({ ok: z.boolean(), reason: z.string().optional() }),
  'in-use': z.object({ sessions: z.number().int().min(0) }),
  'revoke-inherited': z.object({ ok: z.literal(true), revoked: z.number().int().min(0).optional() }),
} as const;

export type Answer<O extends Operation> = z.infer<(typeof ANSWERS)[O]>;
export type Failure = z.infer<typeof failure>;

export function parseFailure(answer: unknown): Failure | undefined {
  const parsed = failure.safeParse(answer);
  return parsed.success ? parsed.data : undefined;
}
