import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { endedSessionsSchema, sessionViewSchema } from '../../shared/session.js';
import { CarriedSession } from '../session/carriedSession.js';
import { logTagOf } from '../session/describedSession.js';
import { confirmAtEnd } from '../store/confirmAtEnd.js';
import type { RouteBuilders } from './routeBuilders.js';
import { toSessionView } from './sessionView.js';

const sessionIdInput = z.object({ id: z.string().min(1).max(64) });

/** `sessions.*`: the caller's own sessions (ASVS 7.5.2). Ending one needs a fresh login. */
export function sessionsRoutes(b: RouteBuilders) {
  return b.router({
    /**
     * The caller's live sessions, newest activity first, then the devices
     * that stay signed in (`kind: 'remembered'`); `current` marks this
     * session, and this device's credential.
     */
    list: b.protectedProcedure.output(z.array(sessionViewSchema)).query(async ({ ctx }) => {
      const { sessions } = ctx.services;
      const currentId = ctx.session.current.publicId;
      const listed = await sessions.listForUser(ctx.user.id);
      const views = listed.map(({ publicId, record }) =>
        toSessionView(publicId, { ...record, userAgent: record.ua }, sessions.expiresAt(record), publicId === currentId),
      );
      if (!sessions.devices) return views;
      const thisDevice = ctx.session instanceof CarriedSession ? ctx.session.rememberedDeviceId : undefined;
      const devices = await sessions.devices.list(ctx.user.id, (userId, like) => sessions.generationOf(userId, like));
      return [
        ...views,
        ...devices.map((device) =>
          toSessionView(device.publicId, { ...device, lastSeen: device.lastUsed, userAgent: device.ua }, device.expiresAt, device.publicId === thisDevice, 'remembered'),
        ),
      ];
    }),

    /** Ends one of the caller's sessions. Another user's id is a 404, like one that never existed. */
    revoke: b.freshProcedure
      .input(sessionIdInput)
      .output(endedSessionsSchema)
      .mutation(async ({ ctx, input }) => {
        const tag = ctx.session.current.logTag;
        if (input.id === ctx.session.current.publicId) {
          await ctx.session.end('logout');
          ctx.log.info({ event: 'sessions.revoke', userId: ctx.user.id, session: tag, revoked: tag }, 'session revoked');
          return { endedSessions: 1 };
        }
        const { sessions } = ctx.services;
        const { devices } = sessions;
        return confirmAtEnd(async (step) => {
          // A session, or a device that stays signed in (forgetting it ends its credential; its sessions end on their own).
          if (!(await step(sessions.removeByPublicId(ctx.user.id, input.id, 'revoked'))) && !(devices && (await step(devices.forgetByPublicId(ctx.user.id, input.id))))) {
            throw new TRPCError({ code: 'NOT_FOUND', message: 'No such session.' });
          }
          ctx.log.info({ event: 'sessions.revoke', userId: ctx.user.id, session: tag, revoked: logTagOf(input.id) }, 'session revoked');
          return { endedSessions: 1 };
        });
      }),

    /** Ends every session of the caller except this one. */
    revokeOthers: b.freshProcedure.output(endedSessionsSchema).mutation(async ({ ctx }) => {
      // One state change (the user's generation): a session being created or rotated right now does not escape it.
      const endedSessions = await ctx.session.endOthers('revoked');
      ctx.log.info({ event: 'sessions.revoke_others', userId: ctx.user.id, endedSessions }, 'other sessions revoked');
      return { endedSessions };
    }),
  });
}
