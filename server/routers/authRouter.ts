import { TRPCError } from '@trpc/server';
import { changePasswordSchema, credentialsSchema } from '../../shared/credentials.js';
import { errorMessages } from '../../shared/errors.js';
import { authResultSchema, endedSessionsSchema, logoutResultSchema, meSchema } from '../../shared/session.js';
import { toPublicUser } from '../accounts/userDirectory.js';
import type { ThrottleVerdict } from '../throttle/loginThrottle.js';
import { protectedProcedure, publicProcedure, router } from '../trpc/init.js';
import { toSessionView } from './sessionView.js';

function tooManyAttempts(verdict: ThrottleVerdict): TRPCError {
  const cause = Object.assign(new Error('throttled'), { retryAfterSeconds: verdict.retryAfterSeconds });
  return new TRPCError({ code: 'TOO_MANY_REQUESTS', message: errorMessages.tooManyAttempts, cause });
}

export const authRouter = router({
  /** Creates the account and starts a session for it. */
  register: publicProcedure
    .input(credentialsSchema)
    .output(authResultSchema)
    .mutation(async ({ ctx, input }) => {
      const { users, hasher, throttle } = ctx.services;
      const verdict = await throttle.consumeRegistration(ctx.clientAddress);
      if (!verdict.allowed) throw tooManyAttempts(verdict);
      const created = await users.create(input.username, await hasher.hash(input.password));
      if (!created) {
        throw new TRPCError({ code: 'CONFLICT', message: errorMessages.usernameTaken });
      }
      await ctx.session.start(toPublicUser(created));
      ctx.log.info({ event: 'auth.register', userId: created.id, session: ctx.session.current?.logTag }, 'registered');
      return { user: toPublicUser(created) };
    }),

  /** Checks the password (same answer and cost for unknown users) and starts a fresh session. */
  login: publicProcedure
    .input(credentialsSchema)
    .output(authResultSchema)
    .mutation(async ({ ctx, input }) => {
      const { users, hasher, throttle } = ctx.services;
      // Counted before the password check, so a burst of parallel guesses cannot slip past the limit.
      const attempt = await throttle.beginLogin(input.username, ctx.clientAddress);
      if (!attempt.allowed) {
        ctx.log.warn({ event: 'auth.login_throttled', username: input.username }, 'login throttled');
        throw tooManyAttempts(attempt);
      }
      const user = await users.findByUsername(input.username);
      const ok = user ? await hasher.verify(user.passwordHash, input.password) : await hasher.verifyDummy(input.password);
      if (!user || !ok) {
        await attempt.failed();
        ctx.log.warn({ event: 'auth.login_failed', username: input.username }, 'login failed');
        throw new TRPCError({ code: 'UNAUTHORIZED', message: errorMessages.invalidCredentials });
      }
      await attempt.succeeded();
      await ctx.session.start(toPublicUser(user));
      // A password change that raced this login (after our check, before our session was
      // indexed) would miss the new session: re-read the hash and give the session up if it moved.
      if ((await users.findById(user.id))?.passwordHash !== user.passwordHash) {
        await ctx.session.end();
        throw new TRPCError({ code: 'UNAUTHORIZED', message: errorMessages.invalidCredentials });
      }
      ctx.log.info({ event: 'auth.login', userId: user.id, session: ctx.session.current?.logTag }, 'logged in');
      return { user: toPublicUser(user) };
    }),

  /** The current user and session, or null. */
  me: publicProcedure.output(meSchema).query(({ ctx }) => {
    const current = ctx.session.current;
    if (!current || !ctx.user) return null;
    return {
      user: ctx.user,
      session: toSessionView(current.publicId, current.record, current.expiresAt, true),
    };
  }),

  /** Ends the session (if any) and clears the cookie. Idempotent. */
  logout: publicProcedure.output(logoutResultSchema).mutation(async ({ ctx }) => {
    const tag = ctx.session.current?.logTag;
    const loggedOut = await ctx.session.end();
    if (loggedOut) ctx.log.info({ event: 'auth.logout', userId: ctx.user?.id, session: tag }, 'logged out');
    return { loggedOut };
  }),

  /** Checks the current password, rotates this session's id and ends every other session of the user. */
  changePassword: protectedProcedure
    .input(changePasswordSchema)
    .output(endedSessionsSchema)
    .mutation(async ({ ctx, input }) => {
      const { users, hasher, sessions, throttle } = ctx.services;
      // A stolen cookie must not buy unlimited guesses at the password: same throttle as login.
      const attempt = await throttle.beginLogin(ctx.user.username, ctx.clientAddress);
      if (!attempt.allowed) throw tooManyAttempts(attempt);
      const user = await users.findById(ctx.user.id);
      if (!user || !(await hasher.verify(user.passwordHash, input.currentPassword))) {
        await attempt.failed();
        throw new TRPCError({ code: 'FORBIDDEN', message: 'The current password is wrong.' });
      }
      await attempt.succeeded();
      // Ended meanwhile (a logout in the same batch or from another tab): change nothing.
      if (!ctx.session.current) throw new TRPCError({ code: 'UNAUTHORIZED', message: errorMessages.unauthorized });
      // Hash first (a racing login re-checks it), then rotate; other sessions end even if rotation loses a race.
      await users.setPasswordHash(user.id, await hasher.hash(input.newPassword));
      let endedSessions = 0;
      try {
        await ctx.session.rotate();
      } finally {
        endedSessions = await sessions.removeAllForUser(user.id, ctx.session.current?.publicId);
      }
      ctx.log.info({ event: 'auth.password_changed', userId: user.id, endedSessions, session: ctx.session.current?.logTag }, 'password changed');
      return { endedSessions };
    }),
});
