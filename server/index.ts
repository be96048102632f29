/**
 * Gatehouse's public server API: secure, typed cookie sessions for tRPC in
 * your own Koa app. The reference server (`server/reference/`) is built on
 * exactly this.
 */
export { createGatehouse, type Gatehouse, type TrpcOptions } from './gatehouse.js';
export { GatehouseOptionsError, type Duration, type GatehouseOptions, type ResolvedOptions, type StoreOption } from './options.js';
export { ConfigError, loadConfig, loadConfigOrExit, type LogLevel, type ReferenceConfig, type RuntimeEnv } from './config.js';
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
export type { ActiveSession, SessionHandle, SessionUser } from './session/requestSession.js';
export type { SessionStore, ListedSession } from './session/sessionStore.js';
export type { Clock } from './clock.js';
export { createLogger } from './logger.js';
export { openStore, type OpenStoreOptions } from './store/openStore.js';
export { redisNodeOptions, redisStoreFor } from './store/openRedis.js';
export type { Counter, KeyValueStore, StoreKind } from './store/keyValueStore.js';
export { StoreUnavailableError } from './store/storeErrors.js';
export { redactUrl, secretScrubber } from './store/redactUrl.js';
export * from '../shared/index.js';
export { accountActions, type AccountActionDeps, type AccountActionResult } from './accounts/accountActions.js';
export type { AccountChange, UserDirectory, UserRecord } from './accounts/userDirectory.js';
export { createPasswordHasher, type PasswordHasher } from './accounts/passwordHasher.js';
export type { LoginThrottle } from './throttle/loginThrottle.js';
