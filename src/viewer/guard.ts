import type { MiddlewareHandler } from 'hono';
import { tokenMatches } from './params.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const hostnameOf = (host: string | undefined) => (host ?? '').replace(/:\d+$/, '').toLowerCase();

/**
 * The server listens on loopback only, but a web page can still reach it through the browser:
 * a Host check stops DNS rebinding, an Origin check stops other sites posting labels, and the
 * CSP keeps anything that slipped past escaping from running or loading from elsewhere.
 */
export const loopbackGuard = (token: string): MiddlewareHandler => async (c, next) => {
  if (!LOOPBACK.has(hostnameOf(c.req.header('host')))) return c.text('the viewer answers on 127.0.0.1 only', 403);
  const origin = c.req.header('origin');
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && origin !== undefined) {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      host = undefined;
    }
    if (!host || !LOOPBACK.has(hostnameOf(host))) return c.text('cross-origin request refused', 403);
  }
  // Every write carries the token of this viewer's own pages (another localhost port is "loopback" too).
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && !tokenMatches(token, (await c.req.parseBody()).token)) {
    return c.text('missing or stale viewer token: reload the page and try again', 403);
  }
  await next();
  c.header('content-security-policy', "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
  c.header('x-content-type-options', 'nosniff');
  // same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on the label form.
  c.header('referrer-policy', 'same-origin');
};
