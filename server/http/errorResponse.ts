import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { TRPCError } from '@trpc/server';
import type Koa from 'koa';
import type { GatehouseErrorData } from '../../shared/errors.js';

/**
 * Answers outside tRPC (guards, error boundary) in the same shape tRPC
 * uses, so the typed client and `curl` users see one error format.
 */
export function sendError(ctx: Koa.Context, code: TRPC_ERROR_CODE_KEY, message: string, extra: Partial<GatehouseErrorData> = {}): void {
  const httpStatus = getHTTPStatusCodeFromError(new TRPCError({ code }));
  const data: GatehouseErrorData = { code, httpStatus, ...extra };
  const requestId = ctx.state['requestId'] as string | undefined;
  if (requestId) data.requestId = requestId;
  ctx.status = httpStatus;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: { message, code: TRPC_ERROR_CODES_BY_KEY[code], data } };
}

/**
 * Answers the way Koa answers an error, for the host's own routes: the
 * status and a plain-text message (a REST client of the host's expects
 * its own or Koa's error shape, not tRPC's). The request id rides in the
 * `X-Request-Id` header.
 */
export function sendPlainError(ctx: Koa.Context, status: number, message: string): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = message;
}
