// Parameters of the command rotator, as written under a secret in a policy.
import { z } from 'zod';
import { duration } from '../../src/policy/fields.js';
import { ROTOR_OWN_VARIABLE, ROTOR_OWN_VARIABLE_REFUSED } from '../../src/trust-roots.js';

/** The user's own executable, for any third-party API: called with one JSON request on stdin per step. */
export const commandRotatorParamsSchema = z.strictObject({
  target: z.strictObject({
    /** A path (relative paths are relative to rotor's working directory), or a name looked up on PATH. */
    executable: z.string().min(1),
    /** Arguments before the operation's name, which rotor appends as the last argument. */
    args: z.array(z.string()).default([]),
    /** The process (and its children) is killed when an operation takes longer. @defaultValue 60s */
    timeout: duration().default('60s'),
    /**
     * Extra environment. Values that are references (`env:`, `file:`, `aws-sm:`) are resolved when
     * the process starts; credentials must be references. Nothing else of rotor's environment is
     * passed on but PATH, HOME, LANG and the like.
     */
    env: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
        // `env:ROTOR_MASTER_KEY` would hand rotor's own settings to the executable.
        z.string().refine((v) => !(v.startsWith('env:') && ROTOR_OWN_VARIABLE.test(v.slice(4))), {
          error: `refers to a variable that ${ROTOR_OWN_VARIABLE_REFUSED}`,
        }),
      )
      .default({}),
    /** Settings handed to the executable as `config` in every request (no credentials: use env). */
    config: z.record(z.string(), z.unknown()).default({}),
    /**
     * The executable answers `in-use` (live sessions of a credential): rotor then waits for the old
     * credential to drain before revoking it. @defaultValue false
     */
    inUse: z.boolean().default(false),
    /**
     * The executable answers `revoke-inherited`: on a secret's first rotation, after grace, it
     * makes every credential of the target but `keep` stop working (what the target had before
     * rotor; invariant 7). @defaultValue false
     */
    revokeInherited: z.boolean().default(false),
  }),
  /** Whether old and new credentials both work until revoke; say false when unsure. @defaultValue false */
  overlap: z.boolean().default(false),
});

export type CommandParams = z.infer<typeof commandRotatorParamsSchema>;
