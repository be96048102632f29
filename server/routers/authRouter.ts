import { TRPCError } from '@trpc/server';
import { changePasswordSchema, credentialsSchema } from '../../shared/credentials.js';
import { errorMessages } from '../../shared/errors.js';
import { authResultSchema, endedSessionsSchema, logoutResultSchema, meSchema } from '../../shared/session.js';
import { toPublicUser, type UserRecord } from '../accounts/userDirectory.js';
import type { GatehouseContext } from '../trpc/context.js';
import type { ThrottleVerdict } from '../throttle/loginThrottle.js';
import { protectedProcedure, publicProcedure, router } from '../trpc/init.js';
import { toSessionView } from './sessionView.js';

/**
 * Starts a session for `user` and makes sure the account did not change
 * while it was being started: an administrator's change (role, disable,
 * delete) or a password change ends every session it finds in the index,
 * and a session indexed just after that would keep the old role. So the
 * account is read again once the session is indexed; if it moved, the
 * session is given up and, when the change left the login valid (a new
 * role), started again from the new record.
 */
async function startCheckedSession(ctx: GatehouseContext, user: UserRecord): Promise<UserRecord> {
  let current = user;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    await ctx.session.start(toPublicUser(current));
    const latest = await ctx.services.users.findById(current.id);
    if (latest?.version === current.version) return current;
    if (!latest || latest.disabled || latest.passwordHash !== user.passwordHash) {
      await ctx.session.end();
      throw new TRPCError({ code: 'UNAUTHORIZED', message: errorMessages.invalidCredentials });
    }
    // The next start destroys this session and issues another id for the new record.
    current = latest;
  }
  await ctx.session.end();
  throw new TRPCError({ code: 'CONFLICT', message: errorMessages.accountChanged });
}

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

  /** Checks the password (same answer and cost for unknown or disabled users) and starts a fresh session. */
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
      const user = await users.findByUsername(input.username).catch(async (error: unknown) => {
        await attempt.abandoned();
        throw error;
      });
      const ok = user ? await hasher.verify(user.passwordHash, input.password) : await hasher.verifyDummy(input.password);
      // A disabled account costs the same hash and gets the same answer as a wrong password (ASVS 7.4.2, 6.3.8).
      if (!user || !ok || user.disabled) {
        await attempt.failed();
        ctx.log.warn({ event: 'auth.login_failed', username: input.username }, 'login failed');
        throw new TRPCError({ code: 'UNAUTHORIZED', message: errorMessages.invalidCredentials });
      }
      await attempt.succeeded();
      const signedIn = await startCheckedSession(ctx, user);
      ctx.log.info({ event: 'auth.login', userId: signedIn.id, session: ctx.session.current?.logTag }, 'logged in');
      return { user: toPublicUser(signedIn) };
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

  /**
   * Checks the current password, rotates this session's id, writes the new
   * hash only if the account is still as it was read, and ends every other
   * session. Of two changes racing for one account exactly one succeeds;
   * the other changes nothing and ends the session it rotated (L10).
   */
  changePassword: protectedProcedure
    .input(changePasswordSchema)
    .output(endedSessionsSchema)
    .mutation(async ({ ctx, input }) => {
      const { users, hasher, sessions, throttle } = ctx.services;
      // A stolen cookie must not buy unlimited guesses at the password: same throttle as login.
      const attempt = await throttle.beginLogin(ctx.user.username, ctx.clientAddress);
      if (!attempt.allowed) throw tooManyAttempts(attempt);
      const user = await users.findById(ctx.user.id).catch(async (error: unknown) => {
        await attempt.abandoned();
        throw error;
      });
      if (!user || user.disabled || !(await hasher.verify(user.passwordHash, input.currentPassword))) {
        await attempt.failed();
        throw new TRPCError({ code: 'FORBIDDEN', message: errorMessages.wrongCurrentPassword });
      }
      await attempt.succeeded();
      const passwordHash = await hasher.hash(input.newPassword);
      // Ended meanwhile (a logout in the same batch or from another tab): the rotation fails with 401, nothing changes.
      await ctx.session.rotate();
      if (!(await users.update(user, { passwordHash }))) {
        // Another change to the account won the race: this one writes nothing and keeps no session.
        await ctx.session.end();
        ctx.log.warn({ event: 'auth.password_change_conflict', userId: user.id }, 'password change lost a race');
        throw new TRPCError({ code: 'CONFLICT', message: errorMessages.accountChanged });
      }
      const endedSessions = await sessions.removeAllForUser(user.id, ctx.session.current?.publicId);
      ctx.log.info({ event: 'auth.password_changed', userId: user.id, endedSessions, session: ctx.session.current?.logTag }, 'password changed');
      return { endedSessions };
    }),
});
