import { type Data, gatehouseRoutes, protectedProcedure, router } from '../index.js';

/**
 * The reference protected query: a message and the user. Typed by its return type rather than validated by
 * `.output(dataSchema)`: the answer is built here from the session's user, which the session codec has
 * already parsed, and tRPC's output validator cost about 4 % of a read (it copies its result) to check what
 * the compiler already holds.
 */
const data = protectedProcedure.query(({ ctx }): Data => ({
  message: `Hello, ${ctx.user.username}. This answer needed a live session.`,
  user: ctx.user,
}));

/** The reference server's procedures: Gatehouse's own (`auth`, `sessions`, `admin`) and `data`. */
export const referenceRoutes = { ...gatehouseRoutes, data };

export const referenceRouter = router(referenceRoutes);

/** The type the reference client imports (`import type`) to type every call. */
export type AppRouter = typeof referenceRouter;
