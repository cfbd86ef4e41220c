// Response headers of every answer, through Hono's secure-headers: no sniffing, no framing, a
// strict CSP, same-origin referrers, never cached. bull-board's own pages (under `exceptUnder`)
// get a CSP of their own: its scripts are files of its own (its one inline <script> is a JSON
// data block, which CSP does not run), but it uses inline styles and a <base href>.
import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';

/** No inline script anywhere; inline style attributes only (the timeline bars' positions). */
const CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  styleSrcAttr: ["'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
};

/**
 * bull-board: its scripts from this origin only; inline styles (its loading screen and React's
 * style attributes); `base-uri 'self'` for its <base href>. Its Google Fonts stylesheet is refused:
 * an operator's browser makes no third-party request from rotor's pages (system fonts are used).
 */
const BOARD_CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'self'"],
};

export function dashboardHeaders(exceptUnder: string): MiddlewareHandler {
  // Not no-referrer: with it, browsers send `Origin: null` on same-origin form posts, which the CSRF check refuses.
  // No HSTS: rotor serves plain HTTP on loopback; behind TLS the proxy owns that policy (its
  // includeSubDomains would bind every other host of the operator's domain).
  const common = { referrerPolicy: 'same-origin', xContentTypeOptions: 'nosniff', strictTransportSecurity: false } as const;
  const pages = secureHeaders({ ...common, contentSecurityPolicy: CSP, xFrameOptions: 'DENY' });
  const board = secureHeaders({ ...common, contentSecurityPolicy: BOARD_CSP, xFrameOptions: 'DENY' });
  return async (c, next) => {
    await (c.req.path.startsWith(exceptUnder) ? board : pages)(c, async () => {
      await next();
      c.header('Cache-Control', 'no-store');
    });
  };
}
