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
  constructor(operation: string, options?: { cause?: unknown; timedOut?: boolean; message?: string }) {
    super({ code: 'SERVICE_UNAVAILABLE', message: options?.message ?? errorMessages.storeUnavailable, cause: options?.cause });
    this.operation = operation;
    this.timedOut = options?.timedOut ?? false;
  }
}

export function isStoreUnavailable(error: unknown): error is StoreUnavailableError {
  return error instanceof StoreUnavailableError;
}

/**
 * A durable write (`WriteOptions`) that the server which took it made, but
 * whose replicas did not acknowledge it in time (Redis `WAIT` with
 * `waitReplicas`): a failover now could still undo it. A 503 whose message
 * says "not confirmed"; a logout that meets it still clears the client's
 * credential (the write did happen where it was sent), and the client may
 * simply retry.
 */
export class StoreUnconfirmedError extends StoreUnavailableError {
  /** Replicas that acknowledged, and how many were asked for. */
  readonly acknowledged: number;
  readonly wanted: number;
  /**
   * What the operation answered on the master (a `take`'s value, a `delete`'s boolean, a flow's result):
   * it did happen, so a flow that meets this error goes on with it (`confirmAtEnd`) instead of losing it.
   */
  readonly result: unknown;
  /**
   * Koa's convention: headers its error handler sets on the answer after clearing the others. Set by the
   * session middleware outside Gatehouse's prefix, so that a host route's logout answered "not confirmed"
   * still clears the credential it ended (the end was made; only its replication is unconfirmed).
   */
  declare readonly headers?: Record<string, string | string[]>;
  constructor(operation: string, acknowledged: number, wanted: number, result?: unknown) {
    super(operation, {
      message: errorMessages.storeUnconfirmed,
      cause: new Error(`${acknowledged} of ${wanted} replicas acknowledged the ${operation} in time`),
    });
    this.acknowledged = acknowledged;
    this.wanted = wanted;
    this.result = result;
  }
}

export function isStoreUnconfirmed(error: unknown): error is StoreUnconfirmedError {
  return error instanceof StoreUnconfirmedError;
}
