// With a read token configured, every request but /healthz shows it, or the operator token: as a
// Bearer token (the API, Prometheus) or as the password of HTTP Basic (a browser asks once per
// session; the user name is not checked). Hono's bearer-auth and basic-auth parse the header; the
// token gate decides, counts failures per address, logs and counts every refusal.
import type { Context, MiddlewareHandler } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import { bearerAuth } from 'hono/bearer-auth';
import { HTTPException } from 'hono/http-exception';
import { tokenDigest, type Refusal, type TokenGate } from './token-gate.js';

export interface ReadAuthOptions {
  readToken: string | undefined;
  /** The operator token reads too. */
  operatorToken: string | undefined;
  gate: TokenGate;
  clientOf(c: Context): string;
  /** Paths that need no token. @defaultValue ['/healthz'] */
  open?: readonly string[];
}

/** What a browser needs to ask for credentials; the realm names rotor. */
export const READ_CHALLENGE = 'Basic realm="rotor"';
const MISSING = 'this dashboard needs its read token: Authorization: Bearer <token>, or any user name and the token as password';

/** The refusal as a response: JSON under /api, text elsewhere; never cached. */
export function refusalResponse(c: Context, r: Refusal): Response {
  const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
  if (r.status === 401) headers['WWW-Authenticate'] = READ_CHALLENGE;
  return c.req.path.startsWith('/api/')
    ? Response.json({ error: { message: r.message } }, { status: r.status, headers })
    : new Response(r.message, { status: r.status, headers: { ...headers, 'Content-Type': 'text/plain; charset=UTF-8' } });
}

export function readAuth(opts: ReadAuthOptions): MiddlewareHandler {
  if (!opts.readToken) return async (_c, next) => next();
  const accepted = [tokenDigest(opts.readToken), ...(opts.operatorToken ? [tokenDigest(opts.operatorToken)] : [])];
  const open = new Set(opts.open ?? ['/healthz']);
  const verify = (presented: string | undefined, c: Context): true => {
    const refusal = opts.gate.check(
      presented || undefined,
      accepted,
      { kind: 'read', client: opts.clientOf(c), path: c.req.path },
      { missing: MISSING, wrong: 'wrong read token' },
    );
    if (refusal) throw new HTTPException(refusal.status, { res: refusalResponse(c, refusal) });
    return true;
  };
  /** No credentials, or a header neither helper can parse: no token at all. */
  const missing = (c: Context): never => {
    verify(undefined, c);
    throw new HTTPException(401, { res: refusalResponse(c, { status: 401, message: MISSING }) });
  };
  const bearer = bearerAuth({ verifyToken: verify, invalidAuthenticationHeader: { message: missing } });
  const basic = basicAuth({
    verifyUser: (_user, password, c) => verify(password, c),
    realm: 'rotor',
    invalidUserMessage: (c: Context) => missing(c),
  });
  return async (c, next) => {
    if (open.has(c.req.path)) return next();
    return /^bearer\s/i.test(c.req.header('authorization') ?? '') ? bearer(c, next) : basic(c, next);
  };
}
