import { router } from '../trpc/init.js';
import { adminRouter } from './adminRouter.js';
import { authRouter } from './authRouter.js';
import { dataProcedure } from './dataRouter.js';
import { sessionsRouter } from './sessionsRouter.js';

/** The reference procedures, for teams that compose their own router around them. */
export const gatehouseRoutes = {
  auth: authRouter,
  data: dataProcedure,
  sessions: sessionsRouter,
  admin: adminRouter,
};

export const appRouter = router(gatehouseRoutes);

/** The type the client imports (`import type`) to type every call. */
export type AppRouter = typeof appRouter;
