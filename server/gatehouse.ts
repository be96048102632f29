import type { AnyRouter } from '@trpc/server';
import cors from '@koa/cors';
import type Koa from 'koa';
import compose from 'koa-compose';
import type { Logger } from 'pino';
import type { PasswordHasher } from './accounts/passwordHasher.js';
import { type Clock, systemClock } from './clock.js';
import type { GatehouseConfig } from './config.js';
import { contentTypeGuard } from './http/contentTypeGuard.js';
import { errorBoundary } from './http/errorBoundary.js';
import { clientViewOf } from './http/forwarded.js';
import { healthz } from './http/healthz.js';
import { httpsGuard } from './http/httpsGuard.js';
import { originGuard } from './http/originGuard.js';
import { lazyLogOf, requestId } from './http/requestId.js';
import { securityHeaders } from './http/securityHeaders.js';
import { createLogger } from './logger.js';
import { appRouter } from './routers/appRouter.js';
import { CookieSigner } from './session/cookieSigner.js';
import { type SessionHandle, SessionLayer, sessionHandleOf } from './session/sessionLayer.js';
import type { KeyValueStore } from './store/keyValueStore.js';
import { openStore } from './store/openStore.js';
import { secretScrubber } from './store/redactUrl.js';
import { createServices } from './services.js';
import { type Sweeper, startSweeper } from './store/sweeper.js';
import { type GatehouseContext, type Services, userOf } from './trpc/context.js';
import { koaTrpcMount } from './trpc/koaMount.js';

/** Collaborators a test or host app may replace; each has a secure default. */
export interface GatehouseDeps {
  clock?: Clock;
  logger?: Logger;
  store?: KeyValueStore;
  hasher?: PasswordHasher;
}

export interface Gatehouse {
  readonly config: GatehouseConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly store: KeyValueStore;
  readonly services: Services;
  readonly sweeper: Sweeper;
  /**
   * The Koa middleware: request id, security headers, error boundary, CORS,
   * HTTPS/CSRF guards, `/healthz`, the session, and tRPC at `/trpc` serving
   * `router` (the reference router by default).
   */
  middleware(app: Koa, router?: AnyRouter): Koa.Middleware;
  /** The session of a request, for the host app's own Koa routes. */
  sessionOf(ctx: Koa.Context): SessionHandle;
  close(): Promise<void>;
}

/** Cookie names: production gets the `__Host-` prefix (Secure, Path=/, no Domain enforced by browsers). */
export const cookieNameFor = (config: GatehouseConfig) => (config.env === 'production' ? '__Host-sid' : 'sid');

/**
 * Builds Gatehouse for a config: opens the store, prepares the password
 * hasher, and returns the middleware factory.
 *
 * @example
 * const gatehouse = await createGatehouse(loadConfig());
 * app.use(gatehouse.middleware(app));
 */
export async function createGatehouse(config: GatehouseConfig, deps: GatehouseDeps = {}): Promise<Gatehouse> {
  const logger = deps.logger ?? createLogger(config.logLevel);
  const scrub = secretScrubber(config.storeUrl);
  const clock = deps.clock ?? systemClock;
  const store =
    deps.store ??
    (await openStore({
      url: config.storeUrl,
      timeoutMs: config.storeTimeoutMs,
      namespace: config.storeNamespace,
      // Backend errors are logged without anything of the store URL's credentials (D2).
      onError: (error) => logger.warn({ err: scrubbedError(error, scrub) }, 'store error'),
    }));
  const services = await createServices(config, store, clock, deps.hasher);
  const production = config.env === 'production';
  const sessionLayer = new SessionLayer({
    cookieName: cookieNameFor(config),
    secure: production,
    trustProxy: config.trustProxy,
    sameSite: config.sameSite,
    idleTimeoutMs: config.idleTimeoutMs,
    absoluteTimeoutMs: config.absoluteTimeoutMs,
    signer: new CookieSigner(config.sessionKeys),
    store: services.sessions,
    clock,
    logger,
  });
  const sweeper = startSweeper(store, logger);
  const allowed = new Set(config.allowedOrigins);

  const createContext = (ctx: Koa.Context): GatehouseContext => {
    const session = sessionHandleOf(ctx);
    return {
      session,
      user: userOf(session),
      clock,
      requestId: ctx.state.requestId as string,
      clientAddress: clientViewOf(ctx, config.trustProxy).address,
      log: lazyLogOf(ctx, logger),
      services,
    };
  };

  return {
    config,
    logger,
    clock,
    store,
    services,
    sweeper,
    middleware(app, router = appRouter) {
      return compose([
        requestId(logger),
        securityHeaders({ production }),
        errorBoundary(logger),
        cors({
          origin: (ctx) => (allowed.has(ctx.get('origin')) ? ctx.get('origin') : ''),
          credentials: true,
          allowMethods: ['GET', 'POST'],
          allowHeaders: ['content-type', 'trpc-accept'],
          maxAge: 600,
        }),
        ...(production ? [httpsGuard({ trustProxy: config.trustProxy })] : []),
        healthz(store),
        originGuard({ allowedOrigins: config.allowedOrigins, trustProxy: config.trustProxy, logger }),
        contentTypeGuard('/trpc'),
        sessionLayer.middleware(app),
        koaTrpcMount({ router, createContext, logger }),
      ]);
    },
    sessionOf: sessionHandleOf,
    async close() {
      sweeper.stop();
      await store.close();
    },
  };
}

/** An error as the log shows it, with the store URL's secrets removed from its message and stack. */
function scrubbedError(error: unknown, scrub: (text: string) => string): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: scrub(String(error)) };
  const { code } = error as { code?: unknown };
  return { type: error.name, message: scrub(error.message), ...(code === undefined ? {} : { code }), ...(error.stack ? { stack: scrub(error.stack) } : {}) };
}
