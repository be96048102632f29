import helmet from 'koa-helmet';
import type Koa from 'koa';

/**
 * Security headers on every response via helmet: a strict CSP (the demo
 * page loads only its own script and stylesheet), frame denial, no
 * sniffing, no referrer, and HSTS in production only (over plain HTTP in
 * development it would pin localhost to HTTPS).
 */
export function securityHeaders(options: { production: boolean }): Koa.Middleware {
  return helmet({
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
}
