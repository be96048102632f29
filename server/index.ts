/** Gatehouse's public server API: what a team needs to add sessions to its own Koa app. */
export { createApp, type GatehouseApp } from './app.js';
export { ConfigError, loadConfig, type GatehouseConfig } from './config.js';
export { createGatehouse, type Gatehouse, type GatehouseDeps } from './gatehouse.js';
export { appRouter, gatehouseRoutes, type AppRouter } from './routers/appRouter.js';
export {
  adminProcedure,
  createCallerFactory,
  mergeRouters,
  middleware,
  protectedProcedure,
  publicProcedure,
  router,
} from './trpc/init.js';
export type { GatehouseContext, Services } from './trpc/context.js';
export type { ActiveSession, SessionHandle, SessionUser } from './session/sessionLayer.js';
export type { Clock } from './clock.js';
export type { KeyValueStore, StoreKind } from './store/keyValueStore.js';
export { StoreUnavailableError } from './store/storeErrors.js';
