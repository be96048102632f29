import { STATUS_CODES } from 'node:http';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import type Koa from 'koa';
import type { Logger } from 'pino';
import { errorMessages } from '../../shared/errors.js';
import { isStoreUnavailable, isStoreUnconfirmed } from '../store/storeErrors.js';
import { sendError, sendPlainError } from './errorResponse.js';
import { assignRequestId, logOf } from './requestId.js';

/** tRPC's error code for each HTTP status it uses (the first code of a status shared by several). */
const TRPC_CODE_BY_STATUS = new Map<number, TRPC_ERROR_CODE_KEY>();
for (const code of Object.keys(TRPC_ERROR_CODES_BY_KEY) as TRPC_ERROR_CODE_KEY[]) {
  const status = getHTTPStatusCodeFromError(new TRPCError({ code }));
  if (!TRPC_CODE_BY_STATUS.has(status)) TRPC_CODE_BY_STATUS.set(status, code);
}
// 400 is PARSE_ERROR's too; a 400 that is not about JSON syntax is a BAD_REQUEST.
TRPC_CODE_BY_STATUS.set(400, 'BAD_REQUEST');

/** What to answer for an error: the same decision on both sides of the tRPC prefix, two shapes. */
interface Answer {
  status: number;
  code: TRPC_ERROR_CODE_KEY;
  /** tRPC's message (Gatehouse's own texts). */
  message: string;
  /** Koa's message: the exposed message of a client error, else the status's name. */
  plainMessage: string;
  headers?: Record<string, unknown>;
}

export interface ErrorBoundaryOptions {
  logger: Logger;
  /** Whether a path is under one of Gatehouse's tRPC prefixes (answered in tRPC's shape there). */
  isTrpcPath(path: string): boolean;
  /** A 503 was answered (the metrics count it). */
  onUnavailable?: (ctx: Koa.Context) => void;
}

/**
 * Turns anything thrown below it into a clean answer, never a stack: store
 * failures are 503 with `Retry-After` (never a silent logout or a success
 * that did not reach the store), client errors keep their status,
 * everything else is a 500, logged with the request id. Under Gatehouse's
 * tRPC prefix the answer is in tRPC's error shape; on the host's own routes
 * it is Koa's (the status and a plain-text message), with an
 * `X-Request-Id` either way. Cookies set before the failure are dropped.
 */
export function errorBoundary(options: ErrorBoundaryOptions): Koa.Middleware {
  const { logger, isTrpcPath, onUnavailable } = options;
  return async function errorBoundaryMiddleware(ctx, next) {
    try {
      await next();
    } catch (error) {
      assignRequestId(ctx, logger);
      const log = logOf(ctx, logger);
      if (ctx.headerSent || !ctx.writable) {
        // A streamed answer failed after its head: nothing can be answered any more.
        log.error({ err: error }, 'error after the answer started');
        return;
      }
      // A logout whose end was made but not confirmed by the replicas still clears the credential it ended.
      if (!isStoreUnconfirmed(error)) {
        ctx.res.removeHeader('Set-Cookie');
        ctx.res.removeHeader('Clear-Site-Data');
      }
      const answer = answerFor(error, log);
      if (isTrpcPath(ctx.path)) {
        sendError(ctx, answer.code, answer.message);
        ctx.status = answer.status;
      } else {
        // Koa's own headers of an HttpError (a 405's Allow, a 401's WWW-Authenticate), as Koa sets them.
        for (const [name, value] of Object.entries(answer.headers ?? {})) {
          if (!/^content-(type|length)$/i.test(name)) ctx.set(name, String(value));
        }
        sendPlainError(ctx, answer.status, answer.plainMessage);
      }
      if (answer.status === 503) {
        ctx.set('Retry-After', '1');
        onUnavailable?.(ctx);
      }
    }
  };
}

function answerFor(error: unknown, log: Logger): Answer {
  if (isStoreUnavailable(error)) {
    log.warn({ err: error, cause: error.cause }, 'store unavailable');
    // Its message is one of the safe two: "unavailable", or "not confirmed" (StoreUnconfirmedError).
    return { status: 503, code: 'SERVICE_UNAVAILABLE', message: error.message, plainMessage: error.message };
  }
  if (error instanceof TRPCError) {
    // A session refusal in one of your routes (invalid data: 400, signed out: 401) is the client's, as in tRPC.
    const status = getHTTPStatusCodeFromError(error);
    if (status < 500) return { status, code: error.code, message: error.message, plainMessage: error.message };
  }
  const { status, expose, headers } = (error ?? {}) as { status?: unknown; expose?: unknown; headers?: unknown };
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // A client error thrown with Koa's conventions (a body parser's 400 or 413, `ctx.throw(404)`): its status, and
    // its message when it is meant to be shown (`expose`), else the status's name, as Koa itself answers.
    const message = expose === true ? (error as Error).message : (STATUS_CODES[status] ?? 'Bad Request');
    return {
      status,
      code: error instanceof SyntaxError ? 'PARSE_ERROR' : (TRPC_CODE_BY_STATUS.get(status) ?? 'BAD_REQUEST'),
      message,
      plainMessage: message,
      ...(typeof headers === 'object' && headers !== null ? { headers: headers as Record<string, unknown> } : {}),
    };
  }
  log.error({ err: error }, 'unexpected error');
  return { status: 500, code: 'INTERNAL_SERVER_ERROR', message: errorMessages.internal, plainMessage: STATUS_CODES[500]! };
}
