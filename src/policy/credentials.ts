// Finds credentials written into a policy as literals, anywhere in it: policies live in git, so a
// literal is a leak. References (env:, file:, aws-sm:, vault:), ids and host names are not flagged.
import { isRef } from './refs.js';
import type { RawProblem } from './issues.js';
import type { PathSegment } from './yaml/source.js';

const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/\s@:]*:[^/\s@]+@/i;
const AWS_ACCESS_KEY_ID = /(?:^|[^A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?:$|[^A-Z0-9])/;
const PEM = /-----BEGIN [A-Z0-9 ]+-----/;
/** Well-known token formats: GitHub, Slack, Stripe, and Slack's webhook URLs (a credential). */
const KNOWN_TOKEN =
  /\b(?:ghp_[A-Za-z0-9]{30,}|github_pat_\w{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{16,})|hooks\.slack\.com\/services\//;

/** Field names that hold credentials: password, secret, token, key, apiKey, credential... */
const CREDENTIAL_KEY = /(?:password|passwd|passphrase|secret|token|apikey|credential|privatekey|accesskey|^key$|key$)/;
/** ...unless the name says it is something about one: its id, name, path, lifetime. */
const NOT_A_CREDENTIAL = /(?:id|ids|arn|name|names|ref|path|file|ttl|timeout|prefix|field|type|format|length|rotation)$/;

const keyVerdicts = new Map<string, boolean>();

export function isCredentialKey(key: string): boolean {
  let verdict = keyVerdicts.get(key);
  if (verdict === undefined) {
    const k = key.toLowerCase().replace(/[-_]/g, '');
    verdict = CREDENTIAL_KEY.test(k) && !NOT_A_CREDENTIAL.test(k);
    if (keyVerdicts.size < 10_000) keyVerdicts.set(key, verdict);
  }
  return verdict;
}

/** What kind of credential `text` looks like, or undefined. */
export function credentialKind(text: string, underCredentialKey: boolean): string | undefined {
  // Cheap exit for the common case: short strings without `@` cannot match any pattern below.
  if (!underCredentialKey && text.length < 16 && !text.includes('@')) return undefined;
  if (isRef(text)) return undefined;
  if (URL_WITH_PASSWORD.test(text)) return 'a URL with a password in it';
  if (PEM.test(text)) return 'a PEM block (key or certificate)';
  if (AWS_ACCESS_KEY_ID.test(text)) return 'an AWS access key id';
  if (KNOWN_TOKEN.test(text)) return 'a well-known token format';
  if (underCredentialKey) return 'a literal value in a field named like a credential';
  return undefined;
}

const HINT =
  'put the credential in an environment variable, a file, AWS Secrets Manager or Vault and write a reference (env:NAME, file:PATH, aws-sm:ID, vault:PATH#FIELD); rotate it, since git history keeps it';

/** Adds a problem for every literal credential under `value`, which sits at `path`. */
export function findCredentialLiterals(value: unknown, path: PathSegment[], out: RawProblem[]): void {
  // Nearly every secret is clean: a scan that builds no paths decides, and only a secret with a
  // finding is walked again to say where.
  if (suspicious(value, undefined, false)) walk(value, path, undefined, false, out);
}

function flags(value: unknown, key: string | undefined, exempt: boolean): string | undefined {
  if (exempt) return undefined;
  if (typeof value === 'string') return credentialKind(value, key !== undefined && isCredentialKey(key));
  // `password: 123456` is a number to YAML and still a credential.
  if (typeof value === 'number' && key !== undefined && isCredentialKey(key)) return 'a literal value in a field named like a credential';
  return undefined;
}

function suspicious(value: unknown, key: string | undefined, exempt: boolean): boolean {
  if (value === null || typeof value !== 'object') return flags(value, key, exempt) !== undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (suspicious(value[i], key, exempt)) return true;
    return false;
  }
  const map = value as Record<string, unknown>;
  // env-file's `key` is the prefix of variable names (KEY_PASSWORD=...), not a key.
  const envFile = map.type === 'env-file';
  for (const k in map) if (suspicious(map[k], k, (envFile && k === 'key') || isJsonPath(key, map[k]))) return true;
  return false;
}

function walk(value: unknown, path: PathSegment[], key: string | undefined, exempt: boolean, out: RawProblem[]): void {
  if (value === null || typeof value !== 'object') {
    const kind = flags(value, key, exempt);
    if (kind) out.push(problem(path, kind));
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      walk(value[i], path, key, exempt, out);
      path.pop();
    }
  } else {
    const map = value as Record<string, unknown>;
    const envFile = map.type === 'env-file';
    for (const k of Object.keys(map)) {
      path.push(k);
      walk(map[k], path, k, (envFile && k === 'key') || isJsonPath(key, map[k]), out);
      path.pop();
    }
  }
}

/** The http rotator's `extract: { secret: $.secret }` names where an answer holds a key: a JSONPath, not a key. */
function isJsonPath(parentKey: string | undefined, value: unknown): boolean {
  return parentKey === 'extract' && typeof value === 'string' && value.startsWith('$');
}

function problem(path: PathSegment[], kind: string): RawProblem {
  const field = [...path].reverse().find((seg): seg is string => typeof seg === 'string') ?? 'value';
  return {
    path: [...path],
    at: 'value',
    code: 'credential-literal',
    message: `\`${field}\` holds what looks like a credential: ${kind}; a policy may only hold references`,
    hint: HINT,
  };
}
