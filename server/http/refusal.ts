import type Koa from 'koa';
import { sendError } from './errorResponse.js';

/** Why a guard refuses a request: a cross-site origin (403) or a body that is not JSON (415). */
export type RefusalCode = 'FORBIDDEN' | 'UNSUPPORTED_MEDIA_TYPE';

/**
 * How a guard answers a request it refuses. On Gatehouse's tRPC prefix the
 * answer is written at once, in tRPC's error shape; on the host's own
 * routes (`gatehouse.csrf()`) it is thrown as Koa's `HttpError`, so the
 * host's error handling answers it in the host's shape (Koa's default:
 * the status and the message as plain text).
 */
export type Refuse = (ctx: Koa.Context, code: RefusalCode, message: string) => void;

/** tRPC's error shape, for the tRPC mount's own guards. */
export const refuseInTrpcShape: Refuse = (ctx, code, message) => sendError(ctx, code, message);

const STATUS: Record<RefusalCode, number> = { FORBIDDEN: 403, UNSUPPORTED_MEDIA_TYPE: 415 };

/** A thrown `HttpError` (`expose: true`: the message is Gatehouse's own and safe to show), for the host's routes. */
export const refuseByThrowing: Refuse = (ctx, code, message) => ctx.throw(STATUS[code], message);
