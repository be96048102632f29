import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { usernameSchema } from '../../shared/credentials.js';
import { endedSessionsSchema } from '../../shared/session.js';
import { adminProcedure, router } from '../trpc/init.js';

export const adminRouter = router({
  /** Ends every session of the named user (ASVS 7.4.5). */
  revokeUserSessions: adminProcedure
    .input(z.object({ username: usernameSchema }))
    .output(endedSessionsSchema)
    .mutation(async ({ ctx, input }) => {
      const user = await ctx.services.users.findByUsername(input.username);
      if (!user) throw new TRPCError({ code: 'NOT_FOUND', message: 'No such user.' });
      const endedSessions = await ctx.services.sessions.removeAllForUser(user.id);
      ctx.log.info({ event: 'admin.revoke_user_sessions', by: ctx.user.id, userId: user.id, endedSessions }, 'user sessions revoked');
      return { endedSessions };
    }),
});
