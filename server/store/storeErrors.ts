/**
 * The store did not answer in time, or answered with an error. Mapped to
 * 503 SERVICE_UNAVAILABLE in one place (see `server/http/errorBoundary.ts`
 * and `server/trpc/init.ts`); the cause is logged, never sent.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(operation: string, options?: { cause?: unknown }) {
    super(`session store unavailable during ${operation}`, options);
  }
}

export function isStoreUnavailable(error: unknown): error is StoreUnavailableError {
  return error instanceof StoreUnavailableError;
}
