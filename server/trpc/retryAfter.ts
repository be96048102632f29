import type { TRPCError } from '@trpc/server';

/**
 * The longest wait any throttled call of a request asks for, in seconds, or
 * `undefined` when none was throttled. Procedures put it on the cause of
 * their `TOO_MANY_REQUESTS` error.
 */
export function retryAfterSecondsOf(errors: readonly TRPCError[]): number | undefined {
  let longest: number | undefined;
  for (const error of errors) {
    const seconds = (error.cause as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    if (error.code === 'TOO_MANY_REQUESTS' && typeof seconds === 'number') longest = Math.max(longest ?? 0, seconds);
    // A store outage is usually short: ask clients to retry in a second, as the error boundary does.
    else if (error.code === 'SERVICE_UNAVAILABLE') longest = Math.max(longest ?? 0, 1);
  }
  return longest;
}
