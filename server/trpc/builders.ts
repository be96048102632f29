import { initTRPC, TRPCError } from '@trpc/server';
import { errorMessages } from '../../shared/errors.js';
import type { ActiveSession, SessionHandle } from '../session/sessionHandle.js';
import type { GatehouseBaseContext } from './context.js';
import { formatError } from './errorFormatter.js';

/** The session handle in a procedure that needs a session: `current` is there. */
export type SignedInSession<TUser, TData, TDataInput> = SessionHandle<TUser, TData, TDataInput> & {
  readonly current: ActiveSession<TUser, TData>;
};

/**
 * What the builders need of a context: Gatehouse's fields, by their shape. (Not `GatehouseBaseContext<{ id:
 * string }, object>`: a context of frozen users and data of the team's own types is not one of those, since
 * TypeScript cannot relate the frozen types of a type parameter to those of its constraint.)
 */
type AnyGatehouseContext = Pick<GatehouseBaseContext<{ id: string }, object, unknown>, 'clock' | 'requestId'> & {
  readonly services: { readonly freshLoginWindowMs: number };
  readonly session: { readonly current: { readonly authAt: number } | null };
  readonly user: { readonly id: string } | null;
};
/** The user of a procedure that needs a session: the context's, never null. */
type UserOf<TCtx extends AnyGatehouseContext> = NonNullable<TCtx['user']>;
/** The session handle of a procedure that needs a session: `current` is there. */
type HandleOf<TCtx extends AnyGatehouseContext> = TCtx['session'] & { readonly current: NonNullable<TCtx['session']['current']> };

/** The middleware of `protectedProcedure` in every definition: a procedure that has one needs a live session. */
const SESSION_MIDDLEWARES = new WeakSet<object>();

/** Whether `procedure` (a router's `_def.procedures` entry) needs a live session: its SSE stream is refused with 401 before it opens. */
export function requiresSession(procedure: unknown): boolean {
  const middlewares = (procedure as { _def?: { middlewares?: unknown[] } } | undefined)?._def?.middlewares ?? [];
  return middlewares.some((middleware) => typeof middleware === 'function' && SESSION_MIDDLEWARES.has(middleware));
}

export const unauthorized = () => new TRPCError({ code: 'UNAUTHORIZED', message: errorMessages.unauthorized });

/** The distinct refusal of `freshProcedure`: 412 PRECONDITION_FAILED with `error.data.reason` `FRESH_LOGIN_REQUIRED`. */
export const freshLoginRequired = () =>
  new TRPCError({
    code: 'PRECONDITION_FAILED',
    message: errorMessages.freshLoginRequired,
    cause: Object.assign(new Error('fresh login required'), { reason: 'FRESH_LOGIN_REQUIRED' }),
  });

/**
 * One `initTRPC` over a Gatehouse context, and the procedure builders on
 * it. No transformer: plain JSON on the wire. `isDev` off everywhere, so
 * no stack ever reaches a client.
 */
export function createBuilders<TCtx extends AnyGatehouseContext>(isAdmin: (user: UserOf<TCtx>) => boolean) {
  const t = initTRPC.context<TCtx>().create({ isDev: false, errorFormatter: ({ shape, error, ctx }) => formatError({ shape, error, ctx }) });

  /**
   * Anyone may call it; `ctx.user` may be null. A store failure inside any
   * procedure is a 503: `StoreUnavailableError` is a SERVICE_UNAVAILABLE
   * TRPCError (no per-call mapping middleware on the hot path).
   */
  const publicProcedure = t.procedure;

  /** Needs a live session: `ctx.user` is your user (never null) and `ctx.session.current` is there, else 401. */
  const protectedProcedure = publicProcedure.use(({ ctx, next }) => {
    // `ctx.session.current` too: a batch may have ended the session after the context was built.
    if (!ctx.user || !ctx.session.current) throw unauthorized();
    // tRPC merges this into the context; passing these only narrows their types without copying the rest.
    return next({ ctx: { user: ctx.user as UserOf<TCtx>, session: ctx.session as HandleOf<TCtx> } });
  });
  SESSION_MIDDLEWARES.add(protectedProcedure._def.middlewares.at(-1)!);

  /**
   * Needs a session whose user proved who they are within the fresh-login
   * window (default 10 minutes; ASVS 7.5.1, 7.5.3), else 412
   * PRECONDITION_FAILED with `error.data.reason: 'FRESH_LOGIN_REQUIRED'`:
   * the client asks for the password, calls `auth.reauthenticate`, and
   * retries.
   */
  const freshProcedure = protectedProcedure.use(({ ctx, next }) => {
    if (ctx.clock.now() - ctx.session.current.authAt > ctx.services.freshLoginWindowMs) throw freshLoginRequired();
    return next();
  });

  /** Needs a session of a user your `isAdmin` accepts (default: `user.role === 'admin'`), else 403. */
  const adminProcedure = protectedProcedure.use(({ ctx, next }) => {
    if (!isAdmin(ctx.user)) throw new TRPCError({ code: 'FORBIDDEN', message: errorMessages.forbidden });
    return next();
  });

  /** An administrator's sensitive action: admin and a fresh login. */
  const freshAdminProcedure = adminProcedure.use(({ ctx, next }) => {
    if (ctx.clock.now() - ctx.session.current.authAt > ctx.services.freshLoginWindowMs) throw freshLoginRequired();
    return next();
  });

  return {
    router: t.router,
    mergeRouters: t.mergeRouters,
    middleware: t.middleware,
    createCallerFactory: t.createCallerFactory,
    publicProcedure,
    protectedProcedure,
    freshProcedure,
    adminProcedure,
    freshAdminProcedure,
  };
}
