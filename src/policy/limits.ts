// How much one policy file may make rotor parse, and the refusal when a file asks for more: the
// parsers and the loader throw LimitExceeded, the file gets one problem naming the setting to change.
import { loadPolicyLimits } from '../config.js';

export interface PolicyLimits {
  maxFileBytes: number;
  maxDepth: number;
  maxKeys: number;
  maxSecrets: number;
  refFileMaxBytes: number;
}

/** The limits from the environment (ROTOR_POLICY_*, ROTOR_REF_FILE_MAX_BYTES); exit 2 when malformed. */
export function policyLimits(env: NodeJS.ProcessEnv = process.env): PolicyLimits {
  const s = loadPolicyLimits(env);
  return {
    maxFileBytes: s.ROTOR_POLICY_MAX_FILE_BYTES,
    maxDepth: s.ROTOR_POLICY_MAX_DEPTH,
    maxKeys: s.ROTOR_POLICY_MAX_KEYS,
    maxSecrets: s.ROTOR_POLICY_MAX_SECRETS,
    refFileMaxBytes: s.ROTOR_REF_FILE_MAX_BYTES,
  };
}

/** A file asked for more than a limit allows, at `offset` (UTF-16 index into its text). */
export class LimitExceeded extends Error {
  constructor(
    message: string,
    readonly hint: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export function tooDeep(limits: PolicyLimits, offset: number): LimitExceeded {
  return new LimitExceeded(
    `lists and maps are nested deeper than ${limits.maxDepth} levels here`,
    `flatten the structure; if it is meant to be this deep, raise ROTOR_POLICY_MAX_DEPTH (at most 1000)`,
    offset,
  );
}

export function tooManyKeys(limits: PolicyLimits, offset: number): LimitExceeded {
  return new LimitExceeded(
    `this map or list has more than ${limits.maxKeys} keys or items`,
    `split it; if it is meant to be this large, raise ROTOR_POLICY_MAX_KEYS`,
    offset,
  );
}

/** 1-based line and column of a UTF-16 offset. */
export function positionOf(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: offset - lineStart + 1 };
}
