// The http rotator's example policies (policies/examples/http-*.yaml) as tests load them: pointed at
// a fake SaaS, with env files under a test directory and short timings. Nothing else of the file changes.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicies } from '../../src/policy/load.js';
import type { ResolvedSecret } from '../../src/policy/types.js';
import type { FakeSaas } from './fake-saas.js';

const EXAMPLES = fileURLToPath(new URL('../../policies/examples/', import.meta.url));

/** Each example and the API address it is written for. */
export const HTTP_EXAMPLES = {
  'http-rolling-keys.yaml': 'https://api.payprov.example',
  'http-token-api.yaml': 'https://api.searchprov.example',
  'http-list-in-use.yaml': 'https://api.streamprov.example',
} as const;
export type HttpExample = keyof typeof HTTP_EXAMPLES;

/**
 * The example's secret as `rotor validate` and the engine read it, pointed at `saas`; its env files
 * go to `dir` (which must lie under ROTOR_ENV_FILE_ROOT). Throws when the policy has problems.
 */
export async function httpExampleSecret(example: HttpExample, saas: FakeSaas, dir: string, grace = '1s'): Promise<ResolvedSecret> {
  const text = readFileSync(join(EXAMPLES, example), 'utf8')
    .replaceAll(HTTP_EXAMPLES[example], saas.url)
    .replaceAll('./run/', `${dir}/`)
    .replace(/grace: \w+/, `grace: ${grace}\n    retry: { attempts: 4, backoff: 50ms, maxBackoff: 200ms }`)
    .replace(/drain: \{ mode: wait, timeout: \w+ \}/, 'drain: { mode: wait, timeout: 30s }');
  const sub = mkdtempSync(join(dir, 'policy-'));
  writeFileSync(join(sub, example), text);
  const loaded = await loadPolicies(sub, { cwd: sub });
  if (loaded.problems.length) throw new Error(`${example}: ${loaded.problems.map((p) => p.message).join('; ')}`);
  return loaded.secrets[0]!;
}

/** What the examples' references stand for: the fake's admin token, and the key in use before rotor. */
export function httpExampleRefs(saas: FakeSaas, initial?: { id: string; secret: string }): (ref: string) => Promise<string> {
  return async (ref) => {
    if (ref.endsWith('_ADMIN_TOKEN')) return saas.adminToken;
    if (ref === 'env:PAYPROV_KEY_ID' && initial) return initial.id;
    if (ref === 'env:PAYPROV_SECRET_KEY' && initial) return initial.secret;
    throw new Error(`unexpected reference ${ref}`);
  };
}
