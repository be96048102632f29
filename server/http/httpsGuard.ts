import type Koa from 'koa';
import { sendError } from './errorResponse.js';
import { clientViewOf } from './forwarded.js';

/**
 * Production refuses plain HTTP outright rather than answer with a weaker
 * (non-Secure) cookie. Behind a TLS-terminating proxy, `trustProxy` lets
 * the `X-Forwarded-Proto` value that proxy appended (the last) count;
 * without it the header is ignored, so a client cannot spoof its way in.
 * Health checks (`except`, default `/healthz`) stay reachable for
 * load-balancer probes (they set no cookie).
 */
export function httpsGuard(options: { trustProxy: boolean; except?: readonly string[] }): Koa.Middleware {
  const { trustProxy } = options;
  const except = new Set(options.except ?? ['/healthz']);
  // Not async: on the way through it only hands on `next()`'s promise (one promise and tick fewer per request).
  return function httpsGuardMiddleware(ctx, next) {
    if (clientViewOf(ctx, trustProxy).protocol !== 'https' && !except.has(ctx.path)) {
      sendError(
        ctx,
        'FORBIDDEN',
        'HTTPS is required. Behind a TLS-terminating proxy, set TRUST_PROXY=1 (the trustProxy option) and have the proxy send X-Forwarded-Proto: https.',
      );
      return undefined;
    }
    return next();
  };
}
