/** Why, where Gatehouse says more than the code. */
export type GatehouseErrorReason = 'FRESH_LOGIN_REQUIRED';

/**
 * What an error response carries in `error.data` besides tRPC's own
 * `code` and `httpStatus`: field errors for bad input, the request id for
 * support, and `retryAfterSeconds` when throttled. A Gatehouse router's
 * type carries it, so `TRPCClientError<AppRouter>`'s `data` is this, with
 * `code` one of tRPC's codes.
 */
export interface GatehouseErrorData<TCode extends string = string> {
  code: TCode;
  httpStatus: number;
  requestId?: string;
  fieldErrors?: Record<string, string[]>;
  retryAfterSeconds?: number;
  /** Why, where Gatehouse says more than the code: `FRESH_LOGIN_REQUIRED` (confirm the password, then retry). */
  reason?: GatehouseErrorReason;
}

/** Messages the server uses for its closed set of expected failures. */
export const errorMessages = {
  invalidCredentials: 'Wrong username or password.',
  usernameTaken: 'That username is already taken.',
  unauthorized: 'You are not signed in, or your session has ended. Sign in again.',
  storeUnavailable: 'The session store is unavailable. Try again in a moment.',
  storeUnconfirmed: 'Not confirmed: the change was made, but the session store could not confirm in time that it will survive a failover. Try again in a moment.',
  tooManyAttempts: 'Too many attempts. Wait and try again.',
  forbidden: 'You are not allowed to do that.',
  wrongCurrentPassword: 'The current password is wrong.',
  wrongPassword: 'That password is wrong.',
  freshLoginRequired: 'Confirm your password to continue: this action needs a recent sign-in.',
  notImplemented: 'This server does not offer that.',
  accountChanged: 'Your account was changed by another request at the same moment, so nothing was changed. Sign in again and retry.',
  sessionChanged: 'Your session was changed by another request at the same moment, so nothing was changed. Try again.',
  internal: 'Something went wrong on our side.',
} as const;
