import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { SessionUserError } from '../session/sessionCodec.js';
import { changePasswordSchema } from '../../shared/credentials.js';
import { errorMessages } from '../../shared/errors.js';
import { endedSessionsSchema, logoutResultSchema, reauthenticatedSchema, reauthenticateSchema, sessionViewSchema } from '../../shared/session.js';
import { type Account, type AccountsAdapter, accountKeyOf } from '../accounts/accountsAdapter.js';
import { CarriedSession } from '../session/carriedSession.js';
import { confirmAtEnd } from '../store/confirmAtEnd.js';
import { isStoreUnavailable } from '../store/storeErrors.js';
import type { LoginAttempt, ThrottleVerdict } from '../throttle/loginThrottle.js';
import type { StoredUser } from '../session/sessionRecord.js';
import type { RouteBuilders, RouteContext, RouteSchemas } from './routeBuilders.js';
import { toSessionView } from './sessionView.js';

export function tooManyAttempts(verdict: ThrottleVerdict): TRPCError {
  const cause = Object.assign(new Error('throttled'), { retryAfterSeconds: verdict.retryAfterSeconds });
  return new TRPCError({ code: 'TOO_MANY_REQUESTS', message: errorMessages.tooManyAttempts, cause });
}

/** A built-in procedure whose accounts-adapter method the team did not provide. */
export function adapterMethod<T>(method: T | undefined): T {
  if (!method) throw new TRPCError({ code: 'NOT_IMPLEMENTED', message: errorMessages.notImplemented });
  return method;
}

const invalidCredentials = () => new TRPCError({ code: 'UNAUTHORIZED', message: errorMessages.invalidCredentials });


/**
 * Starts a session for the account a login proved, and makes sure the
 * account did not change while it was being started. Every change to an
 * account (role, disable, delete, password) and every revocation ends all
 * of the user's sessions by moving their generation (L11); a session whose
 * creation saw the generation move is given up by the core (409). Then:
 * if the account itself changed, the login is checked again against the
 * account as it is now (a new role: signed in with it; a new password or
 * a disabled or deleted account: 401); if only its sessions were ended
 * (a revocation), this login was under way when that answered: 409, sign
 * in again.
 */
async function startChecked(
  ctx: RouteContext,
  accounts: AccountsAdapter<StoredUser>,
  account: Account<StoredUser>,
  credentials: { username: string; password: string },
): Promise<StoredUser> {
  let current = account;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const ended = await ctx.session.start(current.user).then(
      () => false,
      (error: unknown) => {
        if (!(error instanceof TRPCError) || error.code !== 'CONFLICT') throw error;
        return true;
      },
    );
    const latest = await accounts.findById(current.user.id);
    const changed = !latest || latest.version !== current.version || latest.disabled;
    if (!changed && !ended) return current.user;
    if (!changed) throw new TRPCError({ code: 'CONFLICT', message: errorMessages.accountChanged });
    const again = latest && !latest.disabled ? await accounts.authenticate(credentials.username, credentials.password) : undefined;
    if (!again) {
      await ctx.session.end('conflict');
      throw invalidCredentials();
    }
    // The next start destroys this session and issues another id for the account as it is now.
    current = again;
  }
  await ctx.session.end('conflict');
  throw new TRPCError({ code: 'CONFLICT', message: errorMessages.accountChanged });
}

/** The credentials, and `staySignedIn`: ask for a "stay signed in" credential on this device. */
function withStaySignedIn(credentials: RouteSchemas['credentials']): z.ZodType<{ username: string; password: string; staySignedIn?: boolean | undefined }> {
  const extra = z.object({ staySignedIn: z.boolean({ error: 'staySignedIn must be true or false' }).optional() });
  return (credentials instanceof z.ZodObject ? credentials.extend(extra.shape) : z.intersection(credentials, extra)) as never;
}

/** Whether a sign-in asked to stay signed in; a clear 400 before anything runs where the server does not offer it. */
function staySignedInAsked(ctx: RouteContext, input: { staySignedIn?: boolean | undefined }): boolean {
  if (input.staySignedIn !== true) return false;
  if (!ctx.services.sessions.devices) throw new TRPCError({ code: 'BAD_REQUEST', message: 'This server does not offer staying signed in (createGatehouse({ staySignedIn: true }) turns it on).' });
  return true;
}

async function rememberThisDevice(session: unknown): Promise<void> {
  if (session instanceof CarriedSession) await session.rememberThisDevice();
}

/** The token a bearer sign-in hands over in its body (nothing for a browser: its session comes as a cookie). */
function tokenOf(session: unknown): { token?: string } {
  const token = session instanceof CarriedSession ? session.issuedToken : undefined;
  return token === undefined ? {} : { token };
}

/**
 * The throttle key of a signed-in session's own password checks: the session
 * as it started (its user and sign-in time), which its rotations keep — so a
 * stolen cookie's wrong guesses block that session, never the owner's other
 * sessions or logins, and rotating it does not buy fresh guesses.
 */
const passwordCheckKeyOf = (session: { user: { id: string }; createdAt: number }) => `session:${session.user.id}:${session.createdAt}`;

/**
 * The store failed before the password could be checked (the accounts are on a shard that is down, say):
 * the attempt is given back, so outages do not count as guesses, and the failure goes on (503).
 */
const abandon =
  (attempt: LoginAttempt) =>
  async (error: unknown): Promise<never> => {
    await attempt.abandoned();
    throw error;
  };

/** `auth.*`: register, login, me, logout, reauthenticate, changePassword, over the accounts adapter. */
export function authRoutes(b: RouteBuilders, schemas: RouteSchemas) {
  // `token`: what a bearer sign-in hands over (also in the Gatehouse-Session-Token header); a browser's comes as a cookie.
  const userResult = z.object({ user: schemas.user, token: z.string().optional() });
  const me = z.object({ user: schemas.user, session: sessionViewSchema }).nullable();
  const signIn = withStaySignedIn(schemas.credentials);

  return b.router({
    /** Creates the account (if the accounts adapter can) and starts a session for it. */
    register: b.publicProcedure
      .input(signIn)
      .output(userResult)
      .mutation(async ({ ctx, input }) => {
        const { accounts, throttle } = ctx.services;
        const register = adapterMethod(accounts.register);
        const staySignedIn = staySignedInAsked(ctx, input);
        const verdict = await throttle.consumeRegistration(ctx.clientAddress);
        if (!verdict.allowed) throw tooManyAttempts(verdict);
        const created = await register.call(accounts, input.username, input.password);
        if (created === 'taken') throw new TRPCError({ code: 'CONFLICT', message: errorMessages.usernameTaken });
        try {
          await ctx.session.start(created.user);
        } catch (error) {
          if (!(error instanceof SessionUserError)) throw error;
          // The adapter made a user the user schema refuses: no session could ever hold it, so the account
          // must not stay behind (a "taken" login nobody can sign in with). A bug in the app, not the request.
          const removed = accounts.delete ? await accounts.delete(created.user.id) : false;
          ctx.log.error(
            { event: 'auth.register_unusable_user', err: error, accountRemoved: removed },
            `AccountsAdapter.register() returned a user that does not match initGatehouse({ user }): ${error.message}. Make register() create only valid users, or refuse such logins up front with initGatehouse({ credentials }).${removed ? '' : ' The account could not be removed (the adapter has no delete()).'}`,
          );
          throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: errorMessages.internal, cause: error });
        }
        if (staySignedIn) await rememberThisDevice(ctx.session);
        ctx.log.info({ event: 'auth.register', userId: created.user.id, session: ctx.session.current?.logTag }, 'registered');
        return { user: created.user, ...tokenOf(ctx.session) };
      }),

    /** Checks the password (same answer and cost for unknown or disabled users) and starts a fresh session. */
    login: b.publicProcedure
      .input(signIn)
      .output(userResult)
      .mutation(async ({ ctx, input }) => {
        const { accounts, throttle } = ctx.services;
        const staySignedIn = staySignedInAsked(ctx, input);
        const carried = ctx.session instanceof CarriedSession ? ctx.session : undefined;
        // Counted before the password check, so a burst of parallel guesses cannot slip past the limit: on the
        // account the login names (as the adapter resolves it), or on this browser if it signed in to it before.
        const accountKey = await accountKeyOf(accounts, input.username).catch((error: unknown) => {
          if (isStoreUnavailable(error)) throttle.failedBeforeCounting?.();
          throw error;
        });
        const attempt = await throttle.beginLogin(accountKey, ctx.clientAddress, carried?.deviceMarkers ?? []);
        if (!attempt.allowed) {
          // The login as the throttle counts it, tagged: never the login itself (an email address) in a log.
          ctx.log.warn({ event: 'auth.login_throttled', loginTag: ctx.services.loginLogTag(accountKey) }, 'login throttled');
          throw tooManyAttempts(attempt);
        }
        const account = await accounts.authenticate(input.username, input.password).catch(abandon(attempt));
        // A disabled account gets the same answer as a wrong password (ASVS 7.4.2, 6.3.8); the adapter takes the same time.
        if (!account || account.disabled) {
          await attempt.failed();
          ctx.log.warn({ event: 'auth.login_failed', loginTag: ctx.services.loginLogTag(accountKey) }, 'login failed');
          throw invalidCredentials();
        }
        await attempt.succeeded();
        const user = await startChecked(ctx, accounts, account, input);
        // This browser is now known for this account: an attacker hammering it cannot lock it out (SECURITY.md A3).
        carried?.keepDeviceMarkers(attempt.markersAfterSuccess());
        if (staySignedIn) await rememberThisDevice(ctx.session);
        ctx.log.info({ event: 'auth.login', userId: user.id, session: ctx.session.current?.logTag, staySignedIn }, 'logged in');
        return { user, ...tokenOf(ctx.session) };
      }),

    /** The current user and session, or null. */
    me: b.publicProcedure.output(me).query(({ ctx }) => {
      const current = ctx.session.current;
      if (!current) return null;
      return { user: current.user, session: toSessionView(current.publicId, current, current.expiresAt, true) };
    }),

    /** Ends the session (if any) and clears the cookie. Idempotent. */
    logout: b.publicProcedure.output(logoutResultSchema).mutation(async ({ ctx }) => {
      const tag = ctx.session.current?.logTag;
      const userId = ctx.user?.id;
      const loggedOut = await ctx.session.end('logout');
      if (loggedOut) ctx.log.info({ event: 'auth.logout', userId, session: tag }, 'logged out');
      return { loggedOut };
    }),

    /**
     * The signed-in user proves who they are again (the password, or the
     * adapter's check): the session gets a new id and counts as a fresh
     * login for `freshProcedure` (ASVS 7.5.1, 7.5.3). Throttled like login.
     */
    reauthenticate: b.protectedProcedure
      .input(reauthenticateSchema)
      .output(reauthenticatedSchema)
      .mutation(async ({ ctx, input }) => {
        const { accounts, throttle } = ctx.services;
        const verify = adapterMethod(accounts.verifyPassword);
        const attempt = await throttle.beginPasswordCheck(passwordCheckKeyOf(ctx.session.current), ctx.clientAddress);
        if (!attempt.allowed) throw tooManyAttempts(attempt);
        const account = await accounts.findById(ctx.user.id).catch(abandon(attempt));
        if (!account || account.disabled || !(await verify.call(accounts, account, input.password))) {
          await attempt.failed();
          throw new TRPCError({ code: 'FORBIDDEN', message: errorMessages.wrongPassword });
        }
        await attempt.succeeded();
        await ctx.session.refresh();
        ctx.log.info({ event: 'auth.reauthenticated', userId: ctx.user.id, session: ctx.session.current?.logTag }, 're-authenticated');
        return { authenticatedAt: new Date(ctx.session.current!.authAt).toISOString(), ...tokenOf(ctx.session) };
      }),

    /**
     * Checks the current password, gives this session a new id, writes the
     * new password only if the account is still as it was read, and ends
     * every other session. Of two changes racing for one account exactly
     * one succeeds; the other changes nothing and ends the session it
     * rotated (L10). Needs a fresh login.
     */
    changePassword: b.freshProcedure
      .input(changePasswordSchema)
      .output(endedSessionsSchema)
      .mutation(async ({ ctx, input }) => {
        const { accounts, throttle } = ctx.services;
        const verify = adapterMethod(accounts.verifyPassword);
        const change = adapterMethod(accounts.changePassword);
        // A stolen cookie must not buy unlimited guesses at the password: throttled like login.
        const attempt = await throttle.beginPasswordCheck(passwordCheckKeyOf(ctx.session.current), ctx.clientAddress);
        if (!attempt.allowed) throw tooManyAttempts(attempt);
        const account = await accounts.findById(ctx.user.id).catch(abandon(attempt));
        if (!account || account.disabled || !(await verify.call(accounts, account, input.currentPassword))) {
          await attempt.failed();
          throw new TRPCError({ code: 'FORBIDDEN', message: errorMessages.wrongCurrentPassword });
        }
        await attempt.succeeded();
        // Ended meanwhile (a logout in the same batch or from another tab): the rotation fails with 401, nothing changes.
        await ctx.session.refresh();
        // The new password written but unconfirmed by the replicas: the other sessions must end all the same (a
        // thief's among them; the old password no longer works for a retry), then the answer is 503 "not confirmed".
        return confirmAtEnd(async (step) => {
          if ((await step(change.call(accounts, account, input.newPassword))) === 'conflict') {
            // Another change to the account won the race: this one writes nothing and keeps no session.
            await ctx.session.end('conflict');
            ctx.log.warn({ event: 'auth.password_change_conflict', userId: ctx.user.id }, 'password change lost a race');
            throw new TRPCError({ code: 'CONFLICT', message: errorMessages.accountChanged });
          }
          // Every other session ends, this one stays (under the user's new session generation: L11).
          const endedSessions = await step(ctx.session.endOthers('password-change'));
          ctx.log.info({ event: 'auth.password_changed', userId: ctx.user.id, endedSessions, session: ctx.session.current?.logTag }, 'password changed');
          return { endedSessions };
        });
      }),
  });
}
