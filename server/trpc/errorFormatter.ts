import type { TRPCError } from '@trpc/server';
import { z } from 'zod';
import type { GatehouseErrorData } from '../../shared/errors.js';
import { requestIdOf } from './errorRequestIds.js';
import { publicMessageOf } from './publicMessage.js';

/**
 * tRPC's error formatter for every Gatehouse router. Field errors for bad
 * input; the request id (from the context, or recorded by the mount for
 * errors raised before the context exists); `retryAfterSeconds` when
 * throttled; a machine-readable `reason` where Gatehouse gives one
 * (`FRESH_LOGIN_REQUIRED`). Never tRPC's transport texts (they echo the
 * path or the input) nor an internal message (`publicMessage.ts`).
 */
export function formatError({ shape, error, ctx }: { shape: { code: number; data: { code: string; httpStatus: number } }; error: TRPCError; ctx: { requestId?: string } | undefined }) {
  const data: GatehouseErrorData = { code: shape.data.code, httpStatus: shape.data.httpStatus };
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
  if (typeof cause?.reason === 'string') data.reason = cause.reason;
  return { code: shape.code, message, data };
}
