import type Koa from 'koa';
import type { Logger } from 'pino';
import { GatehouseOptionsError } from '../options.js';
import { contentTypeGuard } from './contentTypeGuard.js';
import { originGuard } from './originGuard.js';
import { refuseByThrowing } from './refusal.js';

export interface CsrfOptions {
  /**
   * Also refuse a state-changing request whose body is not
   * `application/json` with 415: HTML forms (urlencoded, multipart) and
   * `text/plain` posts, which a page on another origin can send without a
   * CORS preflight. Default false (your own same-origin forms keep working;
   * the Origin check alone already refuses other origins' forms).
   */
  requireJson?: boolean;
}

/**
 * The tRPC mount's CSRF defence for your own routes: a POST, PUT, PATCH or
 * DELETE from another origin — a sibling subdomain included, which
 * `SameSite=Lax` does not stop — is refused with 403 (by `Sec-Fetch-Site`,
 * else by `Origin`, against the request's own origin and
 * `allowedOrigins`); with `requireJson`, a body that is not JSON is 415.
 * The same guards as the tRPC prefix (`originGuard`, `contentTypeGuard`),
 * except that a refusal is thrown as Koa's `HttpError`, so your error
 * handling answers it in your shape.
 */
export function csrfGuard(options: unknown, guardOptions: { allowedOrigins: readonly string[]; trustProxy: boolean; logger: Logger }): Koa.Middleware {
  const { requireJson } = csrfOptionsOf(options);
  const origin = originGuard({ ...guardOptions, refuse: refuseByThrowing });
  if (!requireJson) {
    return function csrfGuardMiddleware(ctx, next) {
      return origin(ctx, next);
    };
  }
  const json = contentTypeGuard(refuseByThrowing);
  return function csrfGuardMiddleware(ctx, next) {
    return origin(ctx, () => json(ctx, next));
  };
}

/** The options, checked once when the guard is made: a typo fails at start, not as a guard that silently does less. */
function csrfOptionsOf(options: unknown): Required<CsrfOptions> {
  if (options === undefined) return { requireJson: false };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new GatehouseOptionsError(`gatehouse.csrf() takes an options object, e.g. gatehouse.csrf({ requireJson: true }); got ${JSON.stringify(options) ?? typeof options}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== 'requireJson') {
      throw new GatehouseOptionsError(`gatehouse.csrf(): "${key}" is not an option; the one option is requireJson: true (refuse bodies that are not application/json with 415)`);
    }
  }
  const { requireJson = false } = options as CsrfOptions;
  if (typeof requireJson !== 'boolean') {
    throw new GatehouseOptionsError(`gatehouse.csrf({ requireJson }) must be true or false, got ${JSON.stringify(requireJson) ?? typeof requireJson}`);
  }
  return { requireJson };
}
