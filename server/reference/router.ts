import { dataSchema, gatehouseRoutes, protectedProcedure, router } from '../index.js';

/** The reference protected query: a message and the user. */
const data = protectedProcedure.output(dataSchema).query(({ ctx }) => ({
  message: `Hello, ${ctx.user.username}. This answer needed a live session.`,
  user: ctx.user,
}));

/** The reference server's procedures: Gatehouse's own (`auth`, `sessions`, `admin`) and `data`. */
export const referenceRoutes = { ...gatehouseRoutes, data };

export const referenceRouter = router(referenceRoutes);

/** The type the reference client imports (`import type`) to type every call. */
export type AppRouter = typeof referenceRouter;
