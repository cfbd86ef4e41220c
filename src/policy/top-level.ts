// The top of a policy file: YAML problems, then a map with `classes:` and/or `secrets:` (a list).
import type { RawProblem } from './issues.js';
import { policyLimits, type PolicyLimits } from './limits.js';
import { TOP_LEVEL_KEYS } from './schema.js';
import { suggestion } from './suggest.js';
import type { PolicySource } from './yaml/source.js';

export interface TopLevel {
  classes: unknown;
  secrets: unknown[];
  /** `freezes:` of the file: they apply to every secret in it. */
  freezes: unknown;
  /** Problems of the file itself (not of one secret). */
  problems: RawProblem[];
}

export function readTopLevel(src: PolicySource, limits: PolicyLimits = policyLimits()): TopLevel {
  const top: TopLevel = { classes: undefined, secrets: [], freezes: undefined, problems: [] };
  for (const issue of src.yamlIssues) {
    top.problems.push({
      path: [],
      at: 'value',
      code: issue.code,
      message: issue.message,
      hint:
        issue.hint ??
        (issue.code === 'duplicate-key'
          ? 'remove one of them; YAML keeps only the last'
          : 'fix the YAML here; the rest of this file is checked once it parses'),
      pos: issue.pos,
    });
  }
  const value = src.value;
  if (src.fatal || value === null || value === undefined) return top;
  if (typeof value !== 'object' || Array.isArray(value)) {
    top.problems.push({
      path: [],
      at: 'value',
      code: 'wrong-type',
      message: 'a policy file must be a map with `classes:` and/or `secrets:`',
      hint: 'start the file with secrets: or classes:',
    });
    return top;
  }
  const map = value as Record<string, unknown>;
  for (const key of Object.keys(map)) {
    if (!(TOP_LEVEL_KEYS as readonly string[]).includes(key)) {
      top.problems.push({
        path: [key],
        at: 'key',
        code: 'unknown-field',
        message: `unknown top-level field \`${key}\``,
        hint: suggestion(key, TOP_LEVEL_KEYS, 'a policy file has'),
      });
    }
  }
  top.classes = map.classes ?? undefined;
  top.freezes = map.freezes ?? undefined;
  if (map.secrets !== undefined && map.secrets !== null) {
    if (Array.isArray(map.secrets) && map.secrets.length > limits.maxSecrets) {
      const first = map.secrets[limits.maxSecrets] as unknown;
      top.problems.push({
        path: ['secrets'],
        at: 'key',
        code: 'limit-exceeded',
        message: `this file defines more than ${limits.maxSecrets} secrets: none of them is checked`,
        hint: 'split the secrets over several policy files; if one file is meant to hold this many, raise ROTOR_POLICY_MAX_SECRETS',
        ...(first !== null && typeof first === 'object' ? { pos: src.itemPosition(['secrets', limits.maxSecrets], first) } : {}),
      });
    } else if (Array.isArray(map.secrets)) top.secrets = map.secrets;
    else
      top.problems.push({
        path: ['secrets'],
        at: 'value',
        code: 'wrong-type',
        message: '`secrets` must be a list',
        hint: 'write each secret as a list item: - id: team/name',
      });
  }
  return top;
}
