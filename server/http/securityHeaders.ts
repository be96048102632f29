import helmet from 'koa-helmet';
import type Koa from 'koa';

type HeaderOp = readonly [name: string, value: string | number | readonly string[] | undefined];

/**
 * Runs helmet once against a recording response and keeps the header
 * writes it made. Helmet's output depends only on its options here (no
 * per-request CSP nonce or function directive), so replaying the list is
 * the same as running it.
 */
async function recordHeaders(middleware: Koa.Middleware): Promise<readonly HeaderOp[]> {
  const ops: HeaderOp[] = [];
  const res = {
    setHeader: (name: string, value: string | number | readonly string[]) => ops.push([name, value]),
    removeHeader: (name: string) => ops.push([name, undefined]),
    getHeader: () => undefined,
  };
  const ctx = { req: { headers: {}, method: 'GET', url: '/' }, res } as unknown as Koa.Context;
  await middleware(ctx, () => Promise.resolve());
  return ops;
}

/**
 * Security headers on every response via helmet: a strict CSP (the demo
 * page loads only its own script and stylesheet), frame denial, no
 * sniffing, no referrer, and HSTS in production only (over plain HTTP in
 * development it would pin localhost to HTTPS).
 *
 * Helmet is run once and its header writes replayed per request: through
 * koa-helmet it cost a promisified call and a dozen sub-middlewares on
 * every request (bench/PROFILE.md) for the same constant headers.
 */
export function securityHeaders(options: { production: boolean }): Koa.Middleware {
  const helmetMiddleware = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: options.production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    crossOriginResourcePolicy: { policy: 'same-origin' },
  }) as Koa.Middleware;
  const recording = recordHeaders(helmetMiddleware);
  let ops: readonly HeaderOp[] | undefined;
  const apply = (ctx: Koa.Context, next: Koa.Next, list: readonly HeaderOp[]) => {
    const res = ctx.res;
    for (const [name, value] of list) {
      if (value === undefined) res.removeHeader(name);
      else res.setHeader(name, value);
    }
    return next();
  };
  // Not async once the list is known: it only hands on `next()`'s promise.
  return function securityHeadersMiddleware(ctx, next) {
    if (ops) return apply(ctx, next, ops);
    return recording.then((recorded) => apply(ctx, next, (ops = recorded)));
  };
}
