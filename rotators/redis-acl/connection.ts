// Short-lived connections to each Redis node: the admin URL, AUTH without ever passing a value into
// an error, and errors made safe to throw (ioredis attaches every command's arguments to its
// errors, AUTH's password included, so a driver error is never rethrown as is).
import { Redis } from 'ioredis';
import { PermanentError, RotorError, UnavailableError } from '../../src/errors.js';
import { scrub, trackSecret } from '../../src/redact.js';
import type { RedisNode } from './schema.js';

export { nodeName } from './schema.js';

/** A node that does not answer within this is "unavailable", and retried by the engine. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** ACL and CLIENT commands take microseconds; anything slower is a stuck server. */
export const COMMAND_TIMEOUT_MS = 10_000;

export interface AdminLogin {
  /** Undefined: the `default` user (AUTH with a password only). */
  user: string | undefined;
  password: string | undefined;
}

/** Reads the admin URL (`redis://user:password@host:port`). Errors never repeat the URL. */
export function parseAdminUrl(url: string): AdminLogin {
  const refuse = (why: string) =>
    new PermanentError(`the admin reference does not resolve to a usable Redis URL: ${why}`, {
      hint: 'it must resolve to redis://user:password@host:port (or rediss://); percent-encode special characters in the password',
    });
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw refuse('it is not a URL'); // the TypeError carries the input, so it is not kept as cause
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw refuse(`its scheme is ${parsed.protocol} instead of redis:`);
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw refuse('it holds an invalid percent-encoding');
    }
  };
  const password = parsed.password ? decode(parsed.password) : undefined;
  if (password) trackSecret(password);
  return { user: parsed.username ? decode(parsed.username) : undefined, password };
}

/** The server refused the login (wrong password, disabled user, no such user). */
export class RefusedLogin extends Error {
  constructor(readonly code: string) {
    super(`refused (${code})`);
  }
}

/**
 * A connection that has not authenticated: AUTH is sent by the caller, so that a refused
 * password is a reply to read, not a connection error that ioredis retries or wraps.
 */
async function open(node: RedisNode, signal: AbortSignal | undefined): Promise<Redis> {
  signal?.throwIfAborted();
  const client = new Redis({
    host: node.host,
    port: node.port,
    ...(node.tls ? { tls: { servername: node.host } } : {}),
    lazyConnect: true,
    // No INFO before AUTH: a node whose default user is off would answer NOAUTH.
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectionName: 'rotor',
  });
  // Errors surface through the commands; an 'error' event must not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (err) {
    client.disconnect();
    throw err;
  }
}

/** Sends AUTH; RefusedLogin when the server says no. The password never reaches an error. */
async function auth(client: Redis, user: string | undefined, password: string | undefined): Promise<void> {
  if (password === undefined) return;
  try {
    await (user === undefined ? client.call('AUTH', password) : client.call('AUTH', user, password));
  } catch (err) {
    const code = replyCode(err);
    if (code === 'WRONGPASS' || code === 'ERR') throw new RefusedLogin(code);
    throw err;
  }
}

/** Runs `fn` on a fresh connection logged in as `login`, and always closes it; an abort closes it early. */
export async function withNode<T>(
  node: RedisNode,
  login: AdminLogin,
  signal: AbortSignal | undefined,
  fn: (c: Redis) => Promise<T>,
): Promise<T> {
  const client = await open(node, signal);
  const close = () => client.disconnect();
  signal?.addEventListener('abort', close, { once: true });
  try {
    await auth(client, login.user, login.password);
    return await fn(client);
  } finally {
    signal?.removeEventListener('abort', close);
    client.disconnect();
  }
}

/**
 * True when `user`/`password` logs in on `node`, false when the node refuses it; throws when the
 * node cannot be asked.
 */
export async function canLogin(node: RedisNode, user: string, password: string, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await withNode(node, { user, password }, signal, async () => undefined);
    return true;
  } catch (err) {
    if (err instanceof RefusedLogin) return false;
    throw err;
  }
}

/** The first word of a Redis error reply (WRONGPASS, NOPERM, ERR, ...), if it is one. */
export function replyCode(err: unknown): string | undefined {
  if (!(err instanceof Error) || err.name !== 'ReplyError') return undefined;
  return /^([A-Z]+)\b/.exec(err.message)?.[1];
}

/**
 * An error safe to throw out of the rotator: a fresh one from the message alone (scrubbed), never
 * the driver's (which carries the command's arguments), classed for the engine.
 */
export function classify(what: string, err: unknown): Error {
  if (err instanceof RotorError) return err;
  const text = err instanceof Error ? err.message : String(err);
  const message = `${what}: ${scrub(text)}`;
  const code = replyCode(err);
  if (err instanceof RefusedLogin) {
    return new PermanentError(`${what}: the node refused rotor's admin login (${err.code})`, {
      hint: 'check the user and password of the admin reference on every node: ACLs are not replicated',
    });
  }
  if (code === 'NOPERM') {
    return new PermanentError(message, {
      hint: "give rotor's admin user +acl|setuser +acl|getuser +acl|save +client|list +client|kill (and +config|get) on every node",
    });
  }
  // No reply code: refused, reset, timed out, closed; LOADING and BUSY pass too.
  if (!code || code === 'LOADING' || code === 'BUSY' || code === 'MASTERDOWN' || code === 'TRYAGAIN') return new UnavailableError(message);
  return new RotorError(message);
}
