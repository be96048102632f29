import type Koa from 'koa';
import { type Refuse, refuseInTrpcShape } from './refusal.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Only `application/json` bodies may reach a mutation. tRPC alone also
 * accepts `multipart/form-data` (and a cross-site HTML form can send that,
 * or `text/plain`, without a CORS preflight): that would let any page log
 * a user out. Answers 415 before tRPC runs (`refuse`: default tRPC's error
 * shape).
 */
export function contentTypeGuard(refuse: Refuse = refuseInTrpcShape): Koa.Middleware {
  // Not async: on the way through it only hands on `next()`'s promise (one promise and tick fewer per request).
  return function contentTypeGuardMiddleware(ctx, next) {
    if (SAFE_METHODS.has(ctx.method)) return next();
    const type = (ctx.get('content-type').split(';', 1)[0] ?? '').trim().toLowerCase();
    if (type !== 'application/json') {
      refuse(ctx, 'UNSUPPORTED_MEDIA_TYPE', 'Send requests with Content-Type: application/json.');
      return undefined;
    }
    return next();
  };
}
