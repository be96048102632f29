import { initTRPC, TRPCError } from '@trpc/server';
import { z } from 'zod';
import { errorMessages, type GatehouseErrorData } from '../../shared/errors.js';
import type { GatehouseContext } from './context.js';
import { requestIdOf } from './errorRequestIds.js';
import { publicMessageOf } from './publicMessage.js';

/**
 * The one `initTRPC`. No transformer: plain JSON on the wire. `isDev` is
 * off everywhere so no stack ever reaches a client; unexpected errors are
 * masked here and logged by the mount with the request id, and tRPC's own
 * transport errors get Gatehouse's messages (`publicMessage.ts`).
 */
const t = initTRPC.context<GatehouseContext>().create({
  isDev: false,
  errorFormatter({ shape, error, ctx }) {
    const data: GatehouseErrorData = {
      code: shape.data.code,
      httpStatus: shape.data.httpStatus,
    };
    // Errors tRPC raises before the context exists carry the id the mount recorded for them.
    const requestId = ctx?.requestId ?? requestIdOf(error);
    if (requestId) data.requestId = requestId;
    let message: string;
    if (error.code === 'BAD_REQUEST' && error.cause instanceof z.ZodError) {
      const flat = z.flattenError(error.cause);
      data.fieldErrors = flat.fieldErrors as Record<string, string[]>;
      const first = error.cause.issues[0];
      message = first
        ? `Invalid input: ${first.path.length ? `${first.path.join('.')}: ` : ''}${first.message}`
        : 'Invalid input';
    } else {
      // Never tRPC's transport texts (they echo the path or the input) nor an internal message.
      message = publicMessageOf(error);
    }
    const retryAfter = (error.cause as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    if (error.code === 'TOO_MANY_REQUESTS' && typeof retryAfter === 'number') data.retryAfterSeconds = retryAfter;
    return { code: shape.code, message, data };
  },
});

export const router = t.router;
export const mergeRouters = t.mergeRouters;
export const middleware = t.middleware;
export const createCallerFactory = t.createCallerFactory;

/**
 * Anyone may call it; `ctx.user` may be null. A store failure inside any
 * procedure is a 503: `StoreUnavailableError` is a SERVICE_UNAVAILABLE
 * TRPCError (no per-call mapping middleware on the hot path).
 */
export const publicProcedure = t.procedure;

/** Needs a live session: `ctx.user` is narrowed to non-null, else 401 UNAUTHORIZED. */
export const protectedProcedure = publicProcedure.use(({ ctx, next }) => {
  // `ctx.session.current` too: a batch may have ended the session after the context was built.
  if (!ctx.user || !ctx.session.current) throw new TRPCError({ code: 'UNAUTHORIZED', message: errorMessages.unauthorized });
  // tRPC merges this into the context; passing only `user` narrows its type without copying the rest.
  return next({ ctx: { user: ctx.user } });
});

/** Needs a live session of a user with the `admin` role, else 403 FORBIDDEN. */
export const adminProcedure = protectedProcedure.use(({ ctx, next }) => {
  if (ctx.user.role !== 'admin') throw new TRPCError({ code: 'FORBIDDEN', message: errorMessages.forbidden });
  return next();
});
