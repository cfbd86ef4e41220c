// How rotor reaches Vault (or OpenBao): the address and the way it logs in come from rotor's
// environment, set by operators, never from a policy (a policy naming the address could send
// rotor's token anywhere). Read on first use, so processes without Vault never need them.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { InvalidInputError } from '../../errors.js';

/** How rotor logs in to Vault. */
export type VaultAuth =
  | { kind: 'token'; token: string }
  | { kind: 'approle'; mount: string; roleId: string; secretId: () => string }
  | { kind: 'kubernetes'; mount: string; role: string; jwt: () => string };

export interface VaultSettings {
  /** `https://vault.internal:8200`, no trailing slash. */
  address: string;
  namespace: string | undefined;
  auth: VaultAuth;
  timeoutMs: number;
}

const env = z.object({
  /** Where Vault listens (Vault's own variable). */
  VAULT_ADDR: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://vault.internal:8200' }),
  /** Vault Enterprise / OpenBao namespace (Vault's own variable). */
  VAULT_NAMESPACE: z.string().min(1).optional(),
  /** `token` (VAULT_TOKEN), `approle` or `kubernetes`. @defaultValue token */
  ROTOR_VAULT_AUTH: z.enum(['token', 'approle', 'kubernetes']).default('token'),
  VAULT_TOKEN: z.string().min(1).optional(),
  /** Where the AppRole or Kubernetes auth method is mounted. @defaultValue approle or kubernetes */
  ROTOR_VAULT_AUTH_MOUNT: z
    .string()
    .regex(/^[A-Za-z0-9_./-]+$/)
    .optional(),
  ROTOR_VAULT_ROLE_ID: z.string().min(1).optional(),
  ROTOR_VAULT_SECRET_ID: z.string().min(1).optional(),
  /** A file holding the AppRole secret id (a mounted secret), read at each login. */
  ROTOR_VAULT_SECRET_ID_FILE: z.string().min(1).optional(),
  /** The Vault role bound to rotor's Kubernetes service account. */
  ROTOR_VAULT_K8S_ROLE: z.string().min(1).optional(),
  /** @defaultValue /var/run/secrets/kubernetes.io/serviceaccount/token */
  ROTOR_VAULT_K8S_TOKEN_FILE: z.string().min(1).default('/var/run/secrets/kubernetes.io/serviceaccount/token'),
  /** One request's timeout. @defaultValue 10000 */
  ROTOR_VAULT_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
});

const HINT = 'see docs/vault.md: VAULT_ADDR, and VAULT_TOKEN or ROTOR_VAULT_AUTH=approle|kubernetes with its settings';

export function vaultSettings(vars: NodeJS.ProcessEnv = process.env): VaultSettings {
  const parsed = env.safeParse(vars);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new InvalidInputError(`Vault is not configured in rotor's environment: ${problems}`, { hint: HINT });
  }
  const e = parsed.data;
  const need = (name: keyof typeof e, value: string | undefined): string => {
    if (!value) throw new InvalidInputError(`ROTOR_VAULT_AUTH=${e.ROTOR_VAULT_AUTH} needs ${name}`, { hint: HINT });
    return value;
  };
  let auth: VaultAuth;
  switch (e.ROTOR_VAULT_AUTH) {
    case 'token':
      auth = { kind: 'token', token: need('VAULT_TOKEN', e.VAULT_TOKEN) };
      break;
    case 'approle': {
      const file = e.ROTOR_VAULT_SECRET_ID_FILE;
      const literal = e.ROTOR_VAULT_SECRET_ID;
      if (!file) need('ROTOR_VAULT_SECRET_ID', literal);
      auth = {
        kind: 'approle',
        mount: e.ROTOR_VAULT_AUTH_MOUNT ?? 'approle',
        roleId: need('ROTOR_VAULT_ROLE_ID', e.ROTOR_VAULT_ROLE_ID),
        secretId: () => (file ? readFileSync(file, 'utf8').trim() : literal!),
      };
      break;
    }
    case 'kubernetes': {
      const file = e.ROTOR_VAULT_K8S_TOKEN_FILE;
      auth = {
        kind: 'kubernetes',
        mount: e.ROTOR_VAULT_AUTH_MOUNT ?? 'kubernetes',
        role: need('ROTOR_VAULT_K8S_ROLE', e.ROTOR_VAULT_K8S_ROLE),
        jwt: () => readFileSync(file, 'utf8').trim(),
      };
      break;
    }
  }
  return { address: e.VAULT_ADDR.replace(/\/+$/, ''), namespace: e.VAULT_NAMESPACE, auth, timeoutMs: e.ROTOR_VAULT_TIMEOUT_MS };
}
