import { isTRPCClientError } from '../client/index.js';
import type { AppRouter } from '../server/reference/router.js';

export interface ShownError {
  /** One sentence for the notice area. */
  message: string;
  /** Per-field messages for bad input, keyed by input name. */
  fieldErrors: Record<string, string[]>;
}

/**
 * Turns whatever a call threw into words a person can act on. The server
 * already sends clear messages for its closed set of errors; this adds the
 * wait time when throttled and a hint when the server cannot be reached.
 */
export function describeError(error: unknown): ShownError {
  if (!isTRPCClientError<AppRouter>(error)) {
    return { message: 'Cannot reach the server. Check that it is running and try again.', fieldErrors: {} };
  }
  const data = error.data;
  const fieldErrors = data?.fieldErrors ?? {};
  switch (data?.code) {
    case 'TOO_MANY_REQUESTS': {
      const seconds = data?.retryAfterSeconds;
      return {
        message: seconds ? `Too many attempts. Try again in ${formatWait(seconds)}.` : error.message,
        fieldErrors,
      };
    }
    case 'SERVICE_UNAVAILABLE':
      return { message: 'The session store is unavailable right now. Nothing was changed; try again in a moment.', fieldErrors };
    case 'BAD_REQUEST':
      return { message: Object.keys(fieldErrors).length ? 'Please fix the highlighted fields.' : error.message, fieldErrors };
    case 'INTERNAL_SERVER_ERROR':
      return { message: `Something went wrong on our side (request ${data?.requestId ?? 'unknown'}).`, fieldErrors };
    default:
      return { message: error.message, fieldErrors };
  }
}

function formatWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'} (${seconds} seconds)`;
}
