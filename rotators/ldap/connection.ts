// Short-lived connections to the directory: LDAPS or StartTLS (plain only where the schema allowed
// it), timeouts, and the server's result codes classed for the engine, with what to fix.
import type { ConnectionOptions } from 'node:tls';
import { Client, ResultCodeError } from 'ldapts';
import { PermanentError, RotorError, UnavailableError } from '../../src/errors.js';
import { scrub } from '../../src/redact.js';
import { serverOf } from './schema.js';

export interface Endpoint {
  url: string;
  transport: 'ldaps' | 'starttls' | 'plain';
  /** PEM CA certificates; the system's trust store when absent. */
  ca: string | undefined;
}

/** A server that does not answer within this is "unavailable", and retried by the engine. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** A bind or a modify takes milliseconds; anything slower is a server in trouble. */
export const OPERATION_TIMEOUT_MS = 15_000;

// RFC 4511 result codes.
export const INVALID_CREDENTIALS = 49;
const CONSTRAINT_VIOLATION = 19;
const INSUFFICIENT_ACCESS = 50;
const UNWILLING_TO_PERFORM = 53;
const CONFIDENTIALITY_REQUIRED = 13;
const STRONG_AUTH_REQUIRED = 8;
const NO_SUCH_OBJECT = 32;
const BUSY = 51;
const UNAVAILABLE = 52;

/** Opens a connection, upgraded to TLS as the endpoint says, and binds as `dn`; closes it on any failure. */
export async function connect(ep: Endpoint, dn: string, password: string): Promise<Client> {
  const { host } = serverOf(ep.url);
  const tlsOptions: ConnectionOptions = { ...(ep.ca ? { ca: ep.ca } : {}), servername: /^[\d.:]+$/.test(host) ? undefined : host };
  const client = new Client({
    url: ep.url,
    connectTimeout: CONNECT_TIMEOUT_MS,
    timeout: OPERATION_TIMEOUT_MS,
    ...(ep.transport === 'ldaps' ? { tlsOptions } : {}),
  });
  try {
    if (ep.transport === 'starttls') await client.startTLS(tlsOptions);
    await client.bind(dn, password);
    return client;
  } catch (err) {
    await client.unbind().catch(() => undefined);
    throw err;
  }
}

/** Runs `fn` on a fresh connection bound as `dn` and always closes it; an abort closes it early. */
export async function withClient<T>(
  ep: Endpoint,
  dn: string,
  password: string,
  signal: AbortSignal | undefined,
  fn: (c: Client) => Promise<T>,
): Promise<T> {
  signal?.throwIfAborted();
  const client = await connect(ep, dn, password);
  const close = () => void client.unbind().catch(() => undefined);
  signal?.addEventListener('abort', close, { once: true });
  try {
    return await fn(client);
  } finally {
    signal?.removeEventListener('abort', close);
    await client.unbind().catch(() => undefined);
  }
}

/** The LDAP result code of a server's answer, if the error is one. */
export function resultCode(err: unknown): number | undefined {
  return err instanceof ResultCodeError ? err.code : undefined;
}

/** Wrong password, no such account, or (OpenLDAP, AD) a locked or disabled account: all 49. */
export function isAuthFailure(err: unknown): boolean {
  return resultCode(err) === INVALID_CREDENTIALS;
}

/**
 * An error safe to throw out of the rotator, classed for the engine, with what to fix: a password
 * policy refusal names the policy, missing rights the ACL (docs/ldap.md).
 */
export function classify(what: string, err: unknown): Error {
  if (err instanceof RotorError) return err;
  const code = resultCode(err);
  // ldapts appends `Code: 0x13` to the server's diagnostic; the result code is given once, in decimal.
  const text = scrub((err instanceof Error ? err.message : String(err)).replace(/\s*Code: 0x[0-9a-f]+\s*$/i, ''));
  const message = `${what}: ${text}${code !== undefined ? ` (LDAP result ${code})` : ''}`;
  switch (code) {
    case CONSTRAINT_VIOLATION:
      return new PermanentError(`${what}: the directory's password policy refused the new password: ${text} (LDAP result ${code})`, {
        hint: "make the policy's generate rules meet the directory's password policy (OpenLDAP ppolicy: pwdMinLength, pwdCheckQuality, pwdMinAge, pwdInHistory; Active Directory: minimum length, complexity, minimum password age, history), or relax that policy for this account",
      });
    case UNWILLING_TO_PERFORM:
      return new PermanentError(message, {
        hint: 'Active Directory refuses password changes that are not over LDAPS or StartTLS, and new passwords its policy refuses (length, complexity, history)',
      });
    case INSUFFICIENT_ACCESS:
      return new PermanentError(message, {
        hint: "grant the admin account write access to the accounts' password attribute (userPassword; AD: Reset Password) and read access to the group (docs/ldap.md)",
      });
    case CONFIDENTIALITY_REQUIRED:
    case STRONG_AUTH_REQUIRED:
      return new PermanentError(message, { hint: 'the server requires TLS: use an ldaps:// URL or startTLS: true' });
    case NO_SUCH_OBJECT:
      return new PermanentError(message, { hint: 'check the DNs in the policy against the directory' });
    case INVALID_CREDENTIALS:
      return new PermanentError(message, { hint: 'check the admin DN and the password its reference resolves to' });
    case BUSY:
    case UNAVAILABLE:
      return new UnavailableError(message);
  }
  if (isCertificateError(err))
    return new PermanentError(message, {
      hint: "the server's certificate is not trusted for its name: set ca to a reference to the CA that signs it, or fix the URL's host",
    });
  if (code === undefined && isNetworkError(err)) return new UnavailableError(message);
  return new RotorError(message);
}

/** Node's TLS verification codes: an unknown CA, a self-signed certificate, a name it does not cover. */
function isCertificateError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code);
}

/** Refused, reset, timed out, closed: a server that cannot be reached now. */
function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return true;
  const message = err instanceof Error ? err.message : '';
  return /timeout|timed out|socket|connection|closed/i.test(message);
}
