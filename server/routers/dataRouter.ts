import { dataSchema } from '../../shared/session.js';
import { protectedProcedure } from '../trpc/init.js';

/** The reference protected query: a message and the user. */
export const dataProcedure = protectedProcedure.output(dataSchema).query(({ ctx }) => ({
  message: `Hello, ${ctx.user.username}. This answer needed a live session.`,
  user: ctx.user,
}));
