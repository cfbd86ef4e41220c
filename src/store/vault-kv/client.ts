// One Vault (or OpenBao) HTTP client: logs in (token, AppRole or Kubernetes auth) and logs in again
// when its token nears its end or is refused, sends each request with a timeout, retries 5xx, 429
// and network errors a bounded number of times, and turns refusals into errors that name the path
// and the capability to grant. Tokens and values never reach an error message.
import { PermanentError, RotorError, UnavailableError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { trackSecret } from '../../redact.js';
import type { VaultSettings } from './settings.js';

export interface VaultRequest {
  method: 'GET' | 'POST' | 'PATCH';
  /** After `/v1/`: `secret/data/app/db?version=3`. */
  path: string;
  body?: unknown;
  /** What a refusal asks operators to grant: the capabilities on the policy path. */
  capabilities: readonly string[];
}

export interface VaultAnswer {
  status: number;
  /** The parsed JSON body (null for an empty one, as a 204). */
  body: { data?: unknown; errors?: string[]; auth?: { client_token?: string; lease_duration?: number } } | null;
}

export interface VaultClient {
  /** Answers 2xx, 404 and 400 (the caller decides); throws on everything else. */
  request(req: VaultRequest): Promise<VaultAnswer>;
}

const ATTEMPTS = 3;

/** The messages Vault puts in `errors` (never values); at most 200 characters of them. */
function errorsOf(a: VaultAnswer): string {
  const text = (a.body?.errors ?? []).join('; ');
  return text.length > 200 ? `${text.slice(0, 200)}…` : text || '(no message)';
}

export function createVaultClient(settings: VaultSettings, log: Logger): VaultClient {
  let token: { value: string; until: number } | undefined;

  async function raw(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<VaultAnswer> {
    const url = `${settings.address}/v1/${path}`;
    let last = '';
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      if (attempt > 1) await new Promise((r) => setTimeout(r, 150 * 2 ** (attempt - 2) * (0.5 + Math.random() / 2)));
      let res: Response;
      let text: string;
      try {
        res = await fetch(url, {
          method,
          headers: {
            ...(settings.namespace ? { 'x-vault-namespace': settings.namespace } : {}),
            ...(body === undefined ? {} : { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }),
            ...headers,
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          // A redirect (a standby pointing at the active node) would carry the token elsewhere.
          redirect: 'manual',
          signal: AbortSignal.timeout(settings.timeoutMs),
        });
        text = await res.text();
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        last =
          e.name === 'TimeoutError'
            ? `did not answer within ${settings.timeoutMs} ms`
            : `cannot be reached (${e.cause?.code ?? e.message})`;
        continue;
      }
      let parsed: VaultAnswer['body'] = null;
      try {
        parsed = text ? (JSON.parse(text) as VaultAnswer['body']) : null;
      } catch {
        parsed = { errors: [`a non-JSON answer (HTTP ${res.status})`] };
      }
      const answer = { status: res.status, body: parsed };
      // 412: a performance standby not yet caught up with a write (Vault Enterprise); try again.
      if (res.status >= 500 || res.status === 429 || res.status === 412) {
        last = `answered HTTP ${res.status}: ${errorsOf(answer)}`;
        continue;
      }
      return answer;
    }
    throw new UnavailableError(`Vault at ${settings.address} ${last} (${ATTEMPTS} attempts)`, {
      hint: 'check that Vault is up and unsealed; the engine tries again with backoff',
    });
  }

  async function login(): Promise<string> {
    const auth = settings.auth;
    if (auth.kind === 'token') return auth.token;
    if (token && token.until > Date.now()) return token.value;
    const [path, body] =
      auth.kind === 'approle'
        ? [`auth/${auth.mount}/login`, { role_id: auth.roleId, secret_id: auth.secretId() }]
        : [`auth/${auth.mount}/login`, { role: auth.kind === 'kubernetes' ? auth.role : '', jwt: auth.jwt() }];
    const a = await raw('POST', path, body, {});
    const issued = a.body?.auth?.client_token;
    if (a.status !== 200 || !issued) {
      throw new PermanentError(`Vault refused rotor's ${auth.kind} login at auth/${auth.mount} (HTTP ${a.status}): ${errorsOf(a)}`, {
        hint:
          auth.kind === 'approle'
            ? 'check ROTOR_VAULT_ROLE_ID and the secret id (ROTOR_VAULT_SECRET_ID or _FILE): it may have expired or run out of uses'
            : "check ROTOR_VAULT_K8S_ROLE and that the role is bound to rotor's service account and namespace",
      });
    }
    trackSecret(issued);
    // Logged in again a little before the lease ends (or after 5 minutes for a token without one).
    const ttl = (a.body?.auth?.lease_duration ?? 0) * 1000;
    token = { value: issued, until: Date.now() + (ttl > 0 ? ttl * 0.8 : 300_000) };
    log.debug({ method: auth.kind, ttlSeconds: ttl / 1000 }, 'logged in to Vault');
    return issued;
  }

  return {
    async request(req) {
      for (let pass = 1; ; pass++) {
        const a = await raw(req.method, req.path, req.body, { 'x-vault-token': await login() });
        if (a.status === 403 && pass === 1 && settings.auth.kind !== 'token') {
          // A token revoked or expired early is refused like a missing grant: log in once more.
          token = undefined;
          continue;
        }
        if (a.status === 403) {
          const policyPath = req.path.split('?')[0];
          throw new PermanentError(`Vault denied ${req.method} ${policyPath}: ${errorsOf(a)}`, {
            hint: `grant rotor's Vault policy: path "${policyPath}" { capabilities = [${req.capabilities.map((c) => `"${c}"`).join(', ')}] } (docs/vault.md lists every path rotor needs)`,
          });
        }
        if (a.status === 401) {
          throw new PermanentError(`Vault refused rotor's token (HTTP 401): ${errorsOf(a)}`, {
            hint: 'check VAULT_TOKEN (or the login settings in docs/vault.md)',
          });
        }
        if (a.status >= 300 && a.status !== 404 && a.status !== 400) {
          throw new RotorError(`Vault answered ${req.method} ${req.path.split('?')[0]} with HTTP ${a.status}: ${errorsOf(a)}`);
        }
        return a;
      }
    },
  };
}

/** Vault's `errors` of an answer, for callers that decide on a 400 themselves. */
export { errorsOf };
