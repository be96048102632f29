/**
 * The request id of errors tRPC raised before it had a context (a path it
 * could not decode, an oversized batch, …): the error formatter gets no
 * context then, and would send no `requestId`. The mount's `onError`
 * records the id; tRPC calls it with the same error object before it
 * formats that error, in every path of `resolveResponse`.
 *
 * Not an AsyncLocalStorage around `resolveResponse`: on Node 20 and 22
 * the first `run()` installs a promise hook for the whole process, which
 * made every later promise (the fast path's too) about 2.7× slower here.
 */
const ids = new WeakMap<Error, string>();

export function rememberRequestId(error: Error, requestId: string): void {
  ids.set(error, requestId);
}

export function requestIdOf(error: Error): string | undefined {
  return ids.get(error);
}
