import { TRPCError } from '@trpc/server';
import { errorMessages } from '../../shared/errors.js';

/**
 * The store did not answer in time, or answered with an error. It *is* a
 * 503 `SERVICE_UNAVAILABLE` TRPCError, so a procedure that meets it
 * answers 503 with no mapping middleware on every call; outside tRPC the
 * error boundary (`server/http/errorBoundary.ts`) maps it the same way.
 * The client sees only the generic message; the cause is logged.
 */
export class StoreUnavailableError extends TRPCError {
  /** Which store operation failed (`get`, `set`, …), for the logs. */
  readonly operation: string;
  /** For a host's own Koa routes: Koa's error handler answers 503 with the generic message. */
  readonly status = 503;
  readonly expose = true;
  /** The store did not answer within its deadline (rather than answering with an error): the metrics' `error.type` `timeout`. */
  readonly timedOut: boolean;
  constructor(operation: string, options?: { cause?: unknown; timedOut?: boolean }) {
    super({ code: 'SERVICE_UNAVAILABLE', message: errorMessages.storeUnavailable, cause: options?.cause });
    this.operation = operation;
    this.timedOut = options?.timedOut ?? false;
  }
}

export function isStoreUnavailable(error: unknown): error is StoreUnavailableError {
  return error instanceof StoreUnavailableError;
}
