import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Logger } from 'pino';

const LOG = Symbol('gatehouse.log');

/** The request's child logger, built on first use: pino's child() serialises its bindings at once, and most requests log nothing. */
class LazyChildLogger {
  readonly #parent: Logger;
  readonly #requestId: string;
  #log: Logger | undefined;

  constructor(parent: Logger, requestId: string) {
    this.#parent = parent;
    this.#requestId = requestId;
  }

  get(): Logger {
    this.#log ??= this.#parent.child({ requestId: this.#requestId });
    return this.#log;
  }
}

/**
 * Gives the request an id (response header `X-Request-Id`) and a child
 * logger carrying it, unless it has one already (the app-wide helper ran).
 * The tRPC mount calls this for its own prefix, so its answers always
 * carry an id even when the host mounts no request-id middleware.
 */
export function assignRequestId(ctx: Koa.Context, logger: Logger): void {
  if (typeof ctx.state['requestId'] === 'string') return;
  const id = randomUUID();
  ctx.state['requestId'] = id;
  (ctx.state as Record<symbol, LazyChildLogger>)[LOG] = new LazyChildLogger(logger, id);
  ctx.set('X-Request-Id', id);
}

/** Gives every request an id (response header `X-Request-Id`) and a child logger carrying it. */
export function requestId(logger: Logger): Koa.Middleware {
  // Not async: it only hands on `next()`'s promise. No closures per request (each would be a function object to collect).
  return function requestIdMiddleware(ctx, next) {
    assignRequestId(ctx, logger);
    return next();
  };
}

/** The request's logger (with its id), or `fallback` before the request-id middleware ran. */
export const logOf = (ctx: Koa.Context, fallback: Logger): Logger =>
  (ctx.state as Record<symbol, LazyChildLogger | undefined>)[LOG]?.get() ?? fallback;

/** Target of the logger proxy below: what to build the logger from, and the logger once built. */
class LazyLogTarget {
  // Private: inspecting the proxy shows its target, and the Koa context carries the Cookie header.
  readonly #ctx: Koa.Context;
  readonly #fallback: Logger;
  #real: Logger | undefined;

  constructor(ctx: Koa.Context, fallback: Logger) {
    this.#ctx = ctx;
    this.#fallback = fallback;
  }

  resolve(): Logger {
    this.#real ??= logOf(this.#ctx, this.#fallback);
    return this.#real;
  }
}

const LAZY_LOG: ProxyHandler<LazyLogTarget> = {
  get(target, property) {
    const real = target.resolve();
    const value: unknown = Reflect.get(real, property, real);
    return typeof value === 'function' ? value.bind(real) : value;
  },
  set: (target, property, value) => Reflect.set(target.resolve(), property, value),
  has: (target, property) => property in target.resolve(),
};

/**
 * The request's logger for the tRPC context without building it: tRPC
 * copies the context object (reading every property) at each middleware
 * level, which would build the lazy child above on every request. The
 * child is built on the first use of any logger method or property.
 */
export function lazyLogOf(ctx: Koa.Context, fallback: Logger): Logger {
  return new Proxy(new LazyLogTarget(ctx, fallback), LAZY_LOG) as unknown as Logger;
}
