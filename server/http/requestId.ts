import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Logger } from 'pino';

/** Gives every request an id (response header `X-Request-Id`) and a child logger carrying it. */
export function requestId(logger: Logger): Koa.Middleware {
  // Not async: it only hands on `next()`'s promise (one promise and tick fewer per request).
  return function requestIdMiddleware(ctx, next) {
    const id = randomUUID();
    ctx.state.requestId = id;
    // pino's child() serialises its bindings at once; most requests log nothing, so it is built on first use.
    let log: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', {
      configurable: true,
      enumerable: true,
      get: () => (log ??= logger.child({ requestId: id })),
      set: (value: Logger) => {
        log = value;
      },
    });
    ctx.set('X-Request-Id', id);
    return next();
  };
}

export const logOf = (ctx: Koa.Context, fallback: Logger): Logger => (ctx.state.log as Logger | undefined) ?? fallback;
