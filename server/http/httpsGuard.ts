import type Koa from 'koa';
import { sendError } from './errorResponse.js';
import { clientViewOf } from './forwarded.js';

/**
 * Production refuses plain HTTP outright rather than answer with a weaker
 * (non-Secure) cookie. Behind a TLS-terminating proxy, `trustProxy` lets
 * the `X-Forwarded-Proto` value that proxy appended (the last) count;
 * without it the header is ignored, so a client cannot spoof its way in.
 * `/healthz` stays reachable for load-balancer probes (it sets no cookie).
 */
export function httpsGuard(options: { trustProxy: boolean }): Koa.Middleware {
  const { trustProxy } = options;
  // Not async: on the way through it only hands on `next()`'s promise (one promise and tick fewer per request).
  return function httpsGuardMiddleware(ctx, next) {
    if (clientViewOf(ctx, trustProxy).protocol !== 'https' && ctx.path !== '/healthz') {
      sendError(
        ctx,
        'FORBIDDEN',
        'HTTPS is required. Behind a TLS-terminating proxy, set TRUST_PROXY=1 and have the proxy send X-Forwarded-Proto: https.',
      );
      return undefined;
    }
    return next();
  };
}
