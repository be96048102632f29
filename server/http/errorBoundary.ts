import { STATUS_CODES } from 'node:http';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import type Koa from 'koa';
import type { Logger } from 'pino';
import { errorMessages } from '../../shared/errors.js';
import { isStoreUnavailable } from '../store/storeErrors.js';
import { sendError } from './errorResponse.js';
import { logOf } from './requestId.js';

/** tRPC's error code for each HTTP status it uses (the first code of a status shared by several). */
const TRPC_CODE_BY_STATUS = new Map<number, TRPC_ERROR_CODE_KEY>();
for (const code of Object.keys(TRPC_ERROR_CODES_BY_KEY) as TRPC_ERROR_CODE_KEY[]) {
  const status = getHTTPStatusCodeFromError(new TRPCError({ code }));
  if (!TRPC_CODE_BY_STATUS.has(status)) TRPC_CODE_BY_STATUS.set(status, code);
}
// 400 is PARSE_ERROR's too; a 400 that is not about JSON syntax is a BAD_REQUEST.
TRPC_CODE_BY_STATUS.set(400, 'BAD_REQUEST');

/**
 * Turns anything thrown below it into a clean answer: store failures are
 * 503 (never a silent logout or a success that did not reach the store),
 * client errors keep their status, everything else is a generic 500 with
 * the request id. Cookies set before the failure are dropped.
 */
export function errorBoundary(logger: Logger): Koa.Middleware {
  return async function errorBoundaryMiddleware(ctx, next) {
    try {
      await next();
    } catch (error) {
      const log = logOf(ctx, logger);
      ctx.res.removeHeader('Set-Cookie');
      ctx.res.removeHeader('Clear-Site-Data');
      if (isStoreUnavailable(error)) {
        log.warn({ err: error, cause: error.cause }, 'store unavailable');
        ctx.set('Retry-After', '1');
        sendError(ctx, 'SERVICE_UNAVAILABLE', errorMessages.storeUnavailable);
        return;
      }
      if (error instanceof TRPCError) {
        // A session refusal in one of your routes (invalid data: 400, signed out: 401) is the client's, as in tRPC.
        const status = getHTTPStatusCodeFromError(error);
        if (status < 500) {
          sendError(ctx, error.code, error.message);
          return;
        }
      }
      const status = (error as { status?: unknown }).status;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        // A client error thrown with Koa's conventions (a body parser's 400 or 413, `ctx.throw(404)`): its status, and
        // its message when it is meant to be shown (`expose`), else the status's name, as Koa itself answers.
        const message = (error as { expose?: boolean }).expose ? (error as Error).message : (STATUS_CODES[status] ?? 'Bad Request');
        sendError(ctx, error instanceof SyntaxError ? 'PARSE_ERROR' : (TRPC_CODE_BY_STATUS.get(status) ?? 'BAD_REQUEST'), message);
        ctx.status = status;
        return;
      }
      log.error({ err: error }, 'unexpected error');
      sendError(ctx, 'INTERNAL_SERVER_ERROR', errorMessages.internal);
    }
  };
}
