// Response headers of every answer, through Hono's secure-headers: no sniffing, no framing, a
// strict CSP, same-origin referrers, never cached. bull-board's own pages (under `exceptUnder`)
// keep their scripts: no CSP and no frame rule there, as before.
import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';

/** No inline script anywhere; inline style attributes only (the timeline bars' positions). */
const CSP = {
  defaultSrc: ["'none'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], styleSrcAttr: ["'unsafe-inline'"], imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"], formAction: ["'self'"], frameAncestors: ["'none'"], baseUri: ["'none'"],
};

export function dashboardHeaders(exceptUnder: string): MiddlewareHandler {
  // Not no-referrer: with it, browsers send `Origin: null` on same-origin form posts, which the CSRF check refuses.
  // No HSTS: rotor serves plain HTTP on loopback; behind TLS the proxy owns that policy (its
  // includeSubDomains would bind every other host of the operator's domain).
  const common = { referrerPolicy: 'same-origin', xContentTypeOptions: 'nosniff', strictTransportSecurity: false } as const;
  const pages = secureHeaders({ ...common, contentSecurityPolicy: CSP, xFrameOptions: 'DENY' });
  const board = secureHeaders({ ...common, xFrameOptions: false });
  return async (c, next) => {
    await (c.req.path.startsWith(exceptUnder) ? board : pages)(c, async () => {
      await next();
      c.header('Cache-Control', 'no-store');
    });
  };
}
