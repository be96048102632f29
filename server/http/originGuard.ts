import type Koa from 'koa';
import type { Logger } from 'pino';
import { clientViewOf } from './forwarded.js';
import { type Refuse, refuseInTrpcShape } from './refusal.js';
import { logOf } from './requestId.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** This server's origin as the browser addressed it: scheme and host, behind a trusted proxy as that proxy saw them (D1). */
function ownOrigin(ctx: Koa.Context, trustProxy: boolean): string {
  const view = clientViewOf(ctx, trustProxy);
  return `${view.protocol}://${view.host}`;
}

/**
 * CSRF defence for every state-changing request, login and register
 * included. With `Sec-Fetch-Site`: `same-origin` (and `none`, a user's own
 * navigation) pass; `same-site` and `cross-site` pass only from an origin
 * listed in `ALLOWED_ORIGINS`. Without it, `Origin` must equal the
 * server's own origin or a listed one, compared exactly (scheme, host,
 * port). Requests with neither header are not from a browser and pass.
 * `refuse` answers a refused request (default: tRPC's error shape, 403).
 */
export function originGuard(options: { allowedOrigins: readonly string[]; trustProxy: boolean; logger: Logger; refuse?: Refuse }): Koa.Middleware {
  const allowed = new Set(options.allowedOrigins);
  const { trustProxy, refuse = refuseInTrpcShape } = options;
  // Not async: on the way through it only hands on `next()`'s promise (one promise and tick fewer per request).
  return function originGuardMiddleware(ctx, next) {
    if (SAFE_METHODS.has(ctx.method)) return next();
    const site = ctx.get('sec-fetch-site').toLowerCase();
    const origin = ctx.get('origin');
    let ok: boolean;
    if (site) {
      ok = site === 'same-origin' || site === 'none' || allowed.has(origin);
    } else if (origin) {
      // Not `ctx.origin`: in Koa 3 that is the request's Origin header, so comparing with it lets every origin through.
      ok = origin === ownOrigin(ctx, trustProxy) || allowed.has(origin);
    } else {
      ok = true;
    }
    if (!ok) {
      logOf(ctx, options.logger).warn({ event: 'csrf.refused', origin, secFetchSite: site, path: ctx.path }, 'cross-site request refused');
      refuse(ctx, 'FORBIDDEN', 'Cross-site request refused. Call this API from its own origin or one listed in ALLOWED_ORIGINS.');
      return undefined;
    }
    return next();
  };
}
