import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { errorMessages } from '../../shared/errors.js';
import { endedSessionsSchema } from '../../shared/session.js';
import { type AccountActionResult, AccountActionUnsupportedError, accountActions } from '../accounts/accountActions.js';
import type { StoredUser } from '../session/sessionRecord.js';
import { adapterMethod } from './authRouter.js';
import type { RouteBuilders, RouteContext, RouteSchemas } from './routeBuilders.js';

const byUsername = z.object({ username: z.string().trim().min(1).max(254) });

const noSuchUser = () => new TRPCError({ code: 'NOT_FOUND', message: 'No such user.' });

async function target(ctx: RouteContext, username: string) {
  const findByLogin = adapterMethod(ctx.services.accounts.findByLogin);
  const account = await findByLogin.call(ctx.services.accounts, username);
  if (!account) throw noSuchUser();
  return account;
}

/** An unsupported adapter method is a 501, not a 500. */
async function act<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof AccountActionUnsupportedError) throw new TRPCError({ code: 'NOT_IMPLEMENTED', message: errorMessages.notImplemented, cause: error });
    throw error;
  }
}

/**
 * `admin.*`: an administrator's actions on an account (ASVS 7.4.2, 7.4.5),
 * each ending the affected user's sessions on every instance. Every one
 * needs the admin role and a fresh login (ASVS 7.5.3).
 */
export function adminRoutes(b: RouteBuilders, schemas: RouteSchemas) {
  const accountResult = z.object({ user: schemas.user, disabled: z.boolean(), endedSessions: z.number().int().nonnegative() });

  /** The answer of an account action, and its audit log line (who did what to whom). */
  function report(ctx: RouteContext & { user: StoredUser }, event: string, result: AccountActionResult<StoredUser> | undefined) {
    if (!result) throw noSuchUser();
    ctx.log.info({ event, by: ctx.user.id, userId: result.account.user.id, endedSessions: result.endedSessions }, event);
    return { user: result.account.user, disabled: result.account.disabled ?? false, endedSessions: result.endedSessions };
  }

  return b.router({
    /** Ends every session of the named user. */
    revokeUserSessions: b.freshAdminProcedure
      .input(byUsername)
      .output(endedSessionsSchema)
      .mutation(async ({ ctx, input }) => {
        const result = await accountActions.revokeSessions(ctx.services, await target(ctx, input.username));
        ctx.log.info({ event: 'admin.revoke_user_sessions', by: ctx.user.id, userId: result.account.user.id, endedSessions: result.endedSessions }, 'user sessions revoked');
        return { endedSessions: result.endedSessions };
      }),

    /** Changes a user's role; their sessions end, so a demotion takes effect at once. */
    setRole: b.freshAdminProcedure
      .input(byUsername.extend({ role: z.string().trim().min(1).max(64) }))
      .output(accountResult)
      .mutation(async ({ ctx, input }) => {
        const result = await act(async () => accountActions.setRole(ctx.services, await target(ctx, input.username), input.role));
        if (result === 'invalid-role') throw new TRPCError({ code: 'BAD_REQUEST', message: `There is no role "${input.role}".` });
        return report(ctx, 'admin.set_role', result);
      }),

    /** Disables an account: every session ends, and logging in is refused like a wrong password. */
    disableUser: b.freshAdminProcedure
      .input(byUsername)
      .output(accountResult)
      .mutation(async ({ ctx, input }) => report(ctx, 'admin.disable_user', await act(async () => accountActions.disable(ctx.services, await target(ctx, input.username))))),

    enableUser: b.freshAdminProcedure
      .input(byUsername)
      .output(accountResult)
      .mutation(async ({ ctx, input }) => report(ctx, 'admin.enable_user', await act(async () => accountActions.enable(ctx.services, await target(ctx, input.username))))),

    /** Deletes an account, every session of it and its login counters. */
    deleteUser: b.freshAdminProcedure
      .input(byUsername)
      .output(accountResult)
      .mutation(async ({ ctx, input }) =>
        report(ctx, 'admin.delete_user', await act(async () => accountActions.delete(ctx.services, await target(ctx, input.username), input.username))),
      ),
  });
}
