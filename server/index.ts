/**
 * Gatehouse's public server API: secure, typed cookie sessions for tRPC in
 * your own Koa app. The reference server (`server/reference/`) is built on
 * exactly this.
 */
export { createGatehouse, type Gatehouse, type TrpcOptions } from './gatehouse.js';
export type { CsrfOptions } from './http/csrfGuard.js';
export {
  initGatehouse,
  isGatehouseDefinition,
  type AccountActionView,
  type BuiltInRoutes,
  type ContextOf,
  type GatehouseDefinition,
  type GatehouseDefinitionOptions,
  type GatehouseRoot,
  type NoContext,
  type NoSessionData,
} from './definition.js';
export { GatehouseOptionsError, type AccountsRequirement, type Duration, type GatehouseOptions, type ResolvedOptions, type StoreOption } from './options.js';
export { ConfigError, loadConfig, loadConfigOrExit, type LogLevel, type ReferenceConfig, type RuntimeEnv } from './config.js';
export {
  adminProcedure,
  createCallerFactory,
  defaultGatehouse,
  freshAdminProcedure,
  freshProcedure,
  gatehouseRoutes,
  mergeRouters,
  middleware,
  protectedProcedure,
  publicProcedure,
  router,
} from './trpc/init.js';
export type { SignedInSession } from './trpc/builders.js';
export type { GatehouseErrorShape } from './trpc/errorFormatter.js';
export type { GatehouseBaseContext, GatehouseContext, Services } from './trpc/context.js';
export type { ActiveSession, DataPatch, EndReason, SessionHandle, StartData } from './session/sessionHandle.js';
export type { Frozen, FrozenArray } from './session/frozen.js';
export { MAX_SESSION_DATA_BYTES, MAX_SESSION_USER_BYTES, SessionDataError, SessionUserError, type MigrateSessionData } from './session/sessionCodec.js';
export type { SessionEndReason, SessionEvent, SessionEventHook } from './session/sessionEvents.js';
export type { SessionStore, ListedSession } from './session/sessionStore.js';
export type { Account, AccountsAdapter } from './accounts/accountsAdapter.js';
export type { BuiltInAccounts } from './accounts/builtInAccounts.js';
export { StoreSecretError, StoreSecretLostError, StoreSecretSealedError } from './store/storeSecret.js';
export { accountActions, AccountActionUnsupportedError, type AccountActionDeps, type AccountActionResult } from './accounts/accountActions.js';
export type { AccountChange, UserDirectory, UserRecord } from './accounts/userDirectory.js';
export { createPasswordHasher, type PasswordHasher } from './accounts/passwordHasher.js';
export type { LoginThrottle } from './throttle/loginThrottle.js';
export type { Clock } from './clock.js';
export { createLogger } from './logger.js';
export { openStore, type OpenStoreOptions } from './store/openStore.js';
export { keyvStore, type KeyvOrAdapter, type KeyvStoreOptions } from './store/keyvStore.js';
export { redisNodeOptions, redisStoreFor } from './store/openRedis.js';
export type { Counter, KeyValueStore, StoreKind } from './store/keyValueStore.js';
export { StoreUnavailableError, StoreUnconfirmedError } from './store/storeErrors.js';
export { redactUrl } from './store/redactUrl.js';
export { secretScrubber } from './store/secretScrubber.js';
export * from '../shared/index.js';
