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

/**
 * The request's logger for the tRPC context without building it: tRPC
 * copies the context object (reading every property) at each middleware
 * level, which would defeat the lazy child above on every request. The
 * child is built on the first call of any logger method.
 */
export function lazyLogOf(ctx: Koa.Context, fallback: Logger): Logger {
  let real: Logger | undefined;
  const resolve = () => (real ??= logOf(ctx, fallback));
  return new Proxy({} as Logger, {
    get(_target, property) {
      const target = resolve();
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
    set(_target, property, value) {
      return Reflect.set(resolve(), property, value);
    },
    has: (_target, property) => property in resolve(),
  });
}
