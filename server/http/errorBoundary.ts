import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type Koa from 'koa';
import type { Logger } from 'pino';
import { errorMessages } from '../../shared/errors.js';
import { isStoreUnavailable } from '../store/storeErrors.js';
import { sendError } from './errorResponse.js';
import { logOf } from './requestId.js';

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
      if (typeof status === 'number' && status >= 400 && status < 500 && (error as { expose?: boolean }).expose) {
        ctx.status = status;
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { error: { message: (error as Error).message, data: { httpStatus: status, requestId: ctx.state['requestId'] } } };
        return;
      }
      log.error({ err: error }, 'unexpected error');
      sendError(ctx, 'INTERNAL_SERVER_ERROR', errorMessages.internal);
    }
  };
}
