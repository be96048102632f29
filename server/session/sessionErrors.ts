import { TRPCError } from '@trpc/server';
import { errorMessages } from '../../shared/errors.js';

/** 401; `status`/`expose` let Koa's own error handler answer it as one when it is thrown in one of your routes. */
export const notSignedIn = () => Object.assign(new TRPCError({ code: 'UNAUTHORIZED', message: errorMessages.unauthorized }), { status: 401, expose: true });

/** 409: the session kept changing under a transition (another request of it wrote each time); nothing was written. */
export const sessionConflict = () =>
  Object.assign(new TRPCError({ code: 'CONFLICT', message: errorMessages.sessionChanged }), { status: 409, expose: true });
