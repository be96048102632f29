import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { usernameSchema } from '../../shared/credentials.js';
import { endedSessionsSchema } from '../../shared/session.js';
import { roleSchema, userSchema } from '../../shared/user.js';
import { type AccountActionResult, accountActions } from '../accounts/accountActions.js';
import { toPublicUser } from '../accounts/userDirectory.js';
import type { GatehouseContext } from '../trpc/context.js';
import { adminProcedure, router } from '../trpc/init.js';

const byUsername = z.object({ username: usernameSchema });
const accountResultSchema = z.object({ user: userSchema.extend({ disabled: z.boolean() }), endedSessions: z.number().int().nonnegative() });

const noSuchUser = () => new TRPCError({ code: 'NOT_FOUND', message: 'No such user.' });

async function target(ctx: GatehouseContext, username: string) {
  const user = await ctx.services.users.findByUsername(username);
  if (!user) throw noSuchUser();
  return user;
}

/** The answer of an account action, and its audit log line (who did what to whom). */
function report(ctx: GatehouseContext & { user: { id: string } }, event: string, result: AccountActionResult | undefined) {
  if (!result) throw noSuchUser();
  ctx.log.info({ event, by: ctx.user.id, userId: result.user.id, endedSessions: result.endedSessions }, event);
  return { user: { ...toPublicUser(result.user), disabled: result.user.disabled }, endedSessions: result.endedSessions };
}

/** Administrators' procedures (ASVS 7.4.2, 7.4.5): each ends the affected user's sessions on every instance. */
export const adminRouter = router({
  /** Ends every session of the named user. */
  revokeUserSessions: adminProcedure
    .input(byUsername)
    .output(endedSessionsSchema)
    .mutation(async ({ ctx, input }) => {
      const result = await accountActions.revokeSessions(ctx.services, await target(ctx, input.username));
      ctx.log.info({ event: 'admin.revoke_user_sessions', by: ctx.user.id, userId: result.user.id, endedSessions: result.endedSessions }, 'user sessions revoked');
      return { endedSessions: result.endedSessions };
    }),

  /** Changes a user's role; their sessions end, so a demotion takes effect at once. */
  setRole: adminProcedure
    .input(byUsername.extend({ role: roleSchema }))
    .output(accountResultSchema)
    .mutation(async ({ ctx, input }) =>
      report(ctx, 'admin.set_role', await accountActions.setRole(ctx.services, await target(ctx, input.username), input.role)),
    ),

  /** Disables an account: every session ends, and logging in is refused like a wrong password. */
  disableUser: adminProcedure
    .input(byUsername)
    .output(accountResultSchema)
    .mutation(async ({ ctx, input }) =>
      report(ctx, 'admin.disable_user', await accountActions.disable(ctx.services, await target(ctx, input.username))),
    ),

  enableUser: adminProcedure
    .input(byUsername)
    .output(accountResultSchema)
    .mutation(async ({ ctx, input }) =>
      report(ctx, 'admin.enable_user', await accountActions.enable(ctx.services, await target(ctx, input.username))),
    ),

  /** Deletes an account, every session of it and its login counters. */
  deleteUser: adminProcedure
    .input(byUsername)
    .output(accountResultSchema)
    .mutation(async ({ ctx, input }) =>
      report(ctx, 'admin.delete_user', await accountActions.delete(ctx.services, await target(ctx, input.username))),
    ),
});
