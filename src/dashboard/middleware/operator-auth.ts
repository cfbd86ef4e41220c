// The API's action routes: an operator token must be configured, a browser request must come from
// this dashboard (Sec-Fetch-Site, Origin), and the request must show the operator token as a
// Bearer token (Hono's bearer-auth parses it; the token gate decides, limits, logs and counts).
import type { Context, MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { HTTPException } from 'hono/http-exception';
import type { Guard, Refusal } from '../auth.js';

export interface OperatorAuthOptions {
  guard: Guard;
  clientOf(c: Context): string;
}

/** The API's error shape: `{ error: { message } }`. */
function refusal(r: Refusal): HTTPException {
  return new HTTPException(r.status, {
    res: Response.json({ error: { message: r.message } }, { status: r.status, headers: { 'Cache-Control': 'no-store' } }),
  });
}

export function operatorApiAuth(opts: OperatorAuthOptions): MiddlewareHandler {
  const { guard } = opts;
  const verify = (presented: string | undefined, c: Context): true => {
    const refused = guard.checkToken(presented, opts.clientOf(c), c.req.path);
    if (refused) throw refusal(refused);
    return true;
  };
  /** No Authorization header, or one that is not a Bearer token: no token at all. */
  const missing = (c: Context): never => {
    verify(undefined, c);
    throw refusal({ status: 401, message: 'wrong or missing operator token' });
  };
  const bearer = bearerAuth({
    verifyToken: verify,
    noAuthenticationHeader: { message: missing },
    invalidAuthenticationHeader: { message: missing },
  });
  return async (c, next) => {
    const refused = guard.checkEnabled() ?? guard.checkSameOrigin(c);
    if (refused) throw refusal(refused);
    return bearer(c, next);
  };
}
