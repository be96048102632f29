import type { TRPC_ERROR_CODE_KEY, TRPC_ERROR_CODE_NUMBER, TRPCDefaultErrorShape, TRPCError } from '@trpc/server';
import { z } from 'zod';
import type { GatehouseErrorData, GatehouseErrorReason } from '../../shared/errors.js';
import { requestIdOf } from './errorRequestIds.js';
import { publicMessageOf } from './publicMessage.js';

/**
 * The error of every Gatehouse router, as tRPC's types carry it to the
 * client (`TRPCClientError<AppRouter>['data']` is its `data`). Its `code` is
 * one of tRPC's numbers: with a plain `number`, tRPC's types do not take
 * the formatter's shape and fall back to their default (no `requestId`, no
 * `reason`).
 */
export interface GatehouseErrorShape {
  code: TRPC_ERROR_CODE_NUMBER;
  message: string;
  data: GatehouseErrorData<TRPC_ERROR_CODE_KEY>;
}

/**
 * tRPC's error formatter for every Gatehouse router. Field errors for bad
 * input; the request id (from the context, or recorded by the mount for
 * errors raised before the context exists); `retryAfterSeconds` when
 * throttled; a machine-readable `reason` where Gatehouse gives one
 * (`FRESH_LOGIN_REQUIRED`). Never tRPC's transport texts (they echo the
 * path or the input) nor an internal message (`publicMessage.ts`).
 */
export function formatError({ shape, error, ctx }: { shape: TRPCDefaultErrorShape; error: TRPCError; ctx: { requestId?: string } | undefined }): GatehouseErrorShape {
  const data: GatehouseErrorData<TRPC_ERROR_CODE_KEY> = { code: shape.data.code, httpStatus: shape.data.httpStatus };
  const requestId = ctx?.requestId ?? requestIdOf(error);
  if (requestId) data.requestId = requestId;
  let message: string;
  const zodError = error.cause instanceof z.ZodError ? error.cause : undefined;
  if (error.code === 'BAD_REQUEST' && zodError && !(error as { issues?: unknown }).issues) {
    const flat = z.flattenError(zodError);
    data.fieldErrors = flat.fieldErrors as Record<string, string[]>;
    const first = zodError.issues[0];
    message = first ? `Invalid input: ${first.path.length ? `${first.path.join('.')}: ` : ''}${first.message}` : 'Invalid input';
  } else {
    message = publicMessageOf(error);
  }
  const cause = error.cause as { retryAfterSeconds?: unknown; reason?: unknown } | undefined;
  if (error.code === 'TOO_MANY_REQUESTS' && typeof cause?.retryAfterSeconds === 'number') data.retryAfterSeconds = cause.retryAfterSeconds;
  if (typeof cause?.reason === 'string') data.reason = cause.reason as GatehouseErrorReason;
  return { code: shape.code, message, data };
}
