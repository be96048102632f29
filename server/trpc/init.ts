import { initGatehouse } from '../definition.js';

/**
 * The default definition: Gatehouse's built-in user (`{ id, username,
 * role }`), no session data, no context fields of your own. Its builders
 * are the package's top-level `router`, `publicProcedure`, … exports; a
 * team with its own users or data calls `initGatehouse` instead.
 */
export const defaultGatehouse = initGatehouse();

export const {
  router,
  mergeRouters,
  middleware,
  createCallerFactory,
  publicProcedure,
  protectedProcedure,
  freshProcedure,
  adminProcedure,
  freshAdminProcedure,
} = defaultGatehouse;

/** Gatehouse's own procedures for the built-in user: `auth`, `sessions`, `admin`. */
export const gatehouseRoutes = defaultGatehouse.routes;
