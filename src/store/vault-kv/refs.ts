// `vault:` references: credentials rotor itself needs (an admin URL, a signing key), kept in Vault
// or OpenBao KV version 2. `vault:<mount>/<path>#field` is one field of the secret; without
// `#field` the secret must hold exactly one. The version read is rotor's CURRENT when rotor manages
// the secret (custom_metadata rotor-current-version), else the newest. Vault address and login
// come from rotor's environment, as for the vault-kv store (docs/vault.md).
import { InvalidInputError, PermanentError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { trackSecret } from '../../redact.js';
import { createVaultClient, type VaultClient } from './client.js';
import { vaultSettings } from './settings.js';
import { splitLocation } from './store.js';

export interface VaultRefReaderOptions {
  log?: Logger | undefined;
  client?: VaultClient | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

/** Reads `vault:` references (given without the prefix). The value is tracked for redaction. */
export function createVaultRefReader(opts: VaultRefReaderOptions = {}): (id: string) => Promise<string> {
  let client = opts.client;
  const vault = () => (client ??= createVaultClient(vaultSettings(opts.env ?? process.env), opts.log ?? silentLogger));
  return async (id) => {
    const ref = `vault:${id}`;
    const hash = id.indexOf('#');
    const [where, field] = hash >= 0 ? [id.slice(0, hash), id.slice(hash + 1)] : [id, undefined];
    if (!where.includes('/') || field === '') {
      throw new InvalidInputError(`reference ${ref} is malformed`, {
        hint: 'write vault:<mount>/<path>#field, e.g. vault:secret/rotor/admin#url',
      });
    }
    const { mount, path } = splitLocation(where);
    const at = (version?: number) =>
      vault().request({
        method: 'GET',
        path: `${mount}/data/${path.split('/').map(encodeURIComponent).join('/')}${version ? `?version=${version}` : ''}`,
        capabilities: ['read'],
      });
    let a = await at();
    type Data = { data?: Record<string, unknown> | null; metadata?: { version?: number; custom_metadata?: Record<string, string> | null } };
    let d = (a.body?.data ?? {}) as Data;
    // A secret rotor manages may have a newer version staged but not promoted: read CURRENT.
    const custom = d.metadata?.custom_metadata ?? {};
    const current = custom['rotor-current-version'];
    if (a.status === 200 && current && custom[`rotor-kv-${d.metadata?.version}`] !== current) {
      const kv = Object.entries(custom)
        .filter(([k, v]) => k.startsWith('rotor-kv-') && v === current)
        .map(([k]) => Number(k.slice('rotor-kv-'.length)))
        .sort((x, y) => y - x)[0];
      if (kv !== undefined) {
        a = await at(kv);
        d = (a.body?.data ?? {}) as Data;
      }
    }
    if (a.status === 404 || !d.data) {
      throw new PermanentError(`reference ${ref}: Vault has no readable version of ${mount}/${path}`, {
        hint: `check the mount and path (vault kv get -mount=${mount} ${path})`,
      });
    }
    if (a.status !== 200) throw new PermanentError(`reference ${ref}: Vault answered HTTP ${a.status}`);
    const fields = Object.keys(d.data);
    const name = field ?? (fields.length === 1 ? fields[0]! : undefined);
    const value = name === undefined ? undefined : d.data[name];
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new PermanentError(
        `reference ${ref}: Vault secret ${mount}/${path} has no string or number ${name ? `field ${name}` : 'single field'} (its fields: ${fields.join(', ') || '(none)'})`,
        {
          hint: 'name one of its fields after #',
        },
      );
    }
    const out = String(value);
    trackSecret(out);
    return out;
  };
}
