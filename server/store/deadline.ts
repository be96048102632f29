import { StoreUnavailableError } from './storeErrors.js';

/**
 * Runs a store operation with a deadline. A rejected or late operation
 * becomes a `StoreUnavailableError`, so a frozen store costs a request at
 * most `timeoutMs` instead of hanging it.
 */
export function withDeadline<T>(operation: string, timeoutMs: number, run: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new StoreUnavailableError(operation, { cause: new Error(`no answer within ${timeoutMs} ms`), timedOut: true })),
      timeoutMs,
    );
    run().then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof StoreUnavailableError ? error : new StoreUnavailableError(operation, { cause: error }));
      },
    );
  });
}
