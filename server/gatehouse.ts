import cors from '@koa/cors';
import type { AnyRouter } from '@trpc/server';
import type Koa from 'koa';
import type { Logger } from 'pino';
import { errorMessages } from '../shared/errors.js';
import type { User } from '../shared/user.js';
import { type Clock, systemClock } from './clock.js';
import { type GatehouseDefinition, internalsOf, isGatehouseDefinition, type NoSessionData } from './definition.js';
import { contentTypeGuard } from './http/contentTypeGuard.js';
import { type CsrfOptions, csrfGuard } from './http/csrfGuard.js';
import { errorBoundary } from './http/errorBoundary.js';
import { sendError } from './http/errorResponse.js';
import { clientViewOf } from './http/forwarded.js';
import { healthz } from './http/healthz.js';
import { httpsGuard } from './http/httpsGuard.js';
import { originGuard } from './http/originGuard.js';
import { isSecureContext } from './http/secureContext.js';
import { assignRequestId, lazyLogOf, logOf, requestId } from './http/requestId.js';
import { securityHeaders } from './http/securityHeaders.js';
import { createLogger } from './logger.js';
import { type AccountsRequirement, type GatehouseOptions, GatehouseOptionsError, type ResolvedOptions, resolveOptions, type StoreOption } from './options.js';
import { userSourceOf } from './accounts/accountsAdapter.js';
import { CookieSigner } from './session/cookieSigner.js';
import { SessionCodec } from './session/sessionCodec.js';
import { BEARER_EXPOSED_HEADERS, BEARER_REQUEST_HEADER, DEVICE_HEADER, REMEMBER_HEADER } from './session/bearerCarrier.js';
import { isCredentialRefusal } from './session/credentialRefusal.js';
import { SessionCore, type UserSource } from './session/sessionCore.js';
import { sessionEventSink } from './session/sessionEvents.js';
import type { SessionHandle } from './session/sessionHandle.js';
import { sessionHandleOf, sessionHandleOrNone, sessionMiddleware as cookieSessionMiddleware } from './session/sessionLayer.js';
import { liveOf } from './session/sessionState.js';
import { SessionWatch } from './session/sessionWatch.js';
import { createServices } from './services.js';
import type { KeyValueStore } from './store/keyValueStore.js';
import { openStore } from './store/openStore.js';
import { secretScrubber } from './store/secretScrubber.js';
import { isStoreUnavailable, isStoreUnconfirmed } from './store/storeErrors.js';
import { instrumentedStore } from './store/instrumentedStore.js';
import { loadTelemetry } from './telemetry/loadTelemetry.js';
import { type Sweeper, startSweeper } from './store/sweeper.js';
import { type GatehouseBaseContext, RESERVED_CONTEXT_KEYS, type Services } from './trpc/context.js';
import { defaultGatehouse } from './trpc/init.js';
import { requiresSession } from './trpc/builders.js';
import { koaTrpcMount } from './trpc/koaMount.js';
import { transportMessages } from './trpc/publicMessage.js';

export interface TrpcOptions<TRouter extends AnyRouter> {
  /** Your router (Gatehouse's routes and your own), built with Gatehouse's procedure builders. */
  router: TRouter;
  /** Where it is served (default `/trpc`). Nothing outside it is touched. */
  prefix?: string;
  /** Largest request body in bytes (default 100 KiB); larger is 413. */
  maxBodySize?: number;
  /** Most calls in one batch (default 20); more is 400. */
  maxBatchSize?: number;
}

/**
 * Gatehouse for one app: composable Koa middleware, each in its own lane.
 *
 * @example
 * const gatehouse = await createGatehouse({ keys: [process.env.SESSION_KEY!], store: process.env.SESSION_STORE_URL });
 * app.use(bodyParser());                                   // yours, before or after
 * app.use(gatehouse.session());                             // cookie → session; nothing else
 * app.use(gatehouse.trpc({ router, prefix: '/api/trpc' })); // guards, no-store, limits: this prefix only
 * router.get('/account', (ctx) => { ctx.body = gatehouse.sessionOf(ctx).current?.user.username ?? 'anonymous'; });
 */
export interface Gatehouse<TUser extends { id: string } = User, TData extends object = NoSessionData, TDataInput = TData> {
  readonly options: ResolvedOptions<TUser>;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly store: KeyValueStore;
  /** The procedures' collaborators: your accounts adapter (or the built-in directory), sessions, throttling. */
  readonly services: Services<TUser>;
  /** Removes expired rows in the background (SQL stores); `sweepNow()` runs one pass. */
  readonly sweeper: Sweeper;
  /** The session middleware: signed cookie → server-side session, for tRPC and your own routes. Mount it before `trpc()`. */
  session(): Koa.Middleware;
  /**
   * tRPC at `prefix`, with Gatehouse's guards for that prefix only: the
   * CSRF checks (Origin / Sec-Fetch-Site, JSON bodies only), `no-store`,
   * body and batch limits, a request id on every answer. Needs
   * `session()` mounted before it.
   */
  trpc<TRouter extends AnyRouter>(options: TrpcOptions<TRouter>): Koa.Middleware;
  /** The session of a request, typed by your definition, for your own Koa routes (after `session()`). */
  sessionOf(ctx: Koa.Context): SessionHandle<TUser, TData, TDataInput>;
  /** Opt-in: an id per request (`X-Request-Id`) and a logger carrying it, app-wide. */
  requestId(): Koa.Middleware;
  /** Opt-in: strict security headers (CSP, frame denial, HSTS when cookies are Secure, …) on every answer. */
  securityHeaders(): Koa.Middleware;
  /** Opt-in: CORS with credentials for `allowedOrigins`. */
  cors(): Koa.Middleware;
  /** Opt-in: refuse plain HTTP with 403 (behind `trustProxy`, by the proxy's last `X-Forwarded-Proto`), except `except` paths. */
  httpsOnly(options?: { except?: readonly string[] }): Koa.Middleware;
  /** Opt-in: `GET path` (default `/healthz`) answers 200 when the store answers, 503 when not. */
  healthz(options?: { path?: string }): Koa.Middleware;
  /**
   * CSRF defence for your own routes that act for the signed-in user (a
   * REST sign-out, an SSO bridge, an older REST API): the tRPC prefix's
   * Origin / `Sec-Fetch-Site` check, refusing another origin's POST, PUT,
   * PATCH or DELETE with 403 — a sibling subdomain's too, which
   * `SameSite=Lax` lets through — and, with `requireJson: true`, any body
   * that is not `application/json` with 415. A refusal is thrown as Koa's
   * `HttpError` (your error handling answers it). Mount it on those routes,
   * not app-wide if partners post to you from their own sites.
   *
   * @example
   * routes.post('/api/notes', gatehouse.csrf({ requireJson: true }), createNote);
   */
  csrf(options?: CsrfOptions): Koa.Middleware;
  /**
   * Opt-in, first: anything thrown below becomes a clean answer, never a
   * stack (503 with `Retry-After` for store outages). Under the tRPC
   * prefix in tRPC's error shape; on your own routes as Koa answers (the
   * status, a plain-text message), with `X-Request-Id` on both.
   */
  errorBoundary(): Koa.Middleware;
  /** Stops the sweeper and closes the store. */
  close(): Promise<void>;
}

/**
 * Opens the store, prepares password hashing, and returns Gatehouse's
 * middleware for one app. With a definition from `initGatehouse`, your
 * users, session data and context are Gatehouse's types; without one,
 * the built-in user. Bad options are one `GatehouseOptionsError` naming
 * each and its fix.
 *
 * @example
 * const gatehouse = await createGatehouse(gh, { keys: [process.env.SESSION_KEY!], store: 'redis://cache:6379', accounts: myAccounts });
 */
export async function createGatehouse<TStore extends StoreOption = string>(options: GatehouseOptions<User, TStore>): Promise<Gatehouse>;
export async function createGatehouse<
  TUser extends { id: string },
  TData extends object,
  TExtra extends object,
  TDataInput,
  TCredentialsIn,
  TBuiltInUser extends boolean,
  TStore extends StoreOption = string,
>(
  definition: GatehouseDefinition<TUser, TData, TExtra, TDataInput, TCredentialsIn, TBuiltInUser>,
  options: GatehouseOptions<NoInfer<TUser>, TStore> & AccountsRequirement<NoInfer<TUser>, NoInfer<TBuiltInUser>>,
): Promise<Gatehouse<TUser, TData, TDataInput>>;
// The built-in overload's Gatehouse is named beside the general one: TypeScript does not relate the frozen users
// (Frozen<User>, Frozen<{ id: string }>) of two instantiations of Gatehouse, so the overload would not match.
export async function createGatehouse(first: unknown, second?: unknown): Promise<Gatehouse<{ id: string }, object, unknown> | Gatehouse> {
  const definition = isGatehouseDefinition(first) ? first : defaultGatehouse;
  const internals = internalsOf(definition as unknown as Parameters<typeof internalsOf>[0]);
  const resolved = resolveOptions((isGatehouseDefinition(first) ? second : first) as GatehouseOptions<{ id: string }>);
  if (!internals.builtInUser && !resolved.accounts) {
    throw new GatehouseOptionsError(
      'Invalid Gatehouse options:\n  - options.accounts is required: your initGatehouse() defines your own user, so Gatehouse needs your user table (an AccountsAdapter: authenticate, findById, …)',
    );
  }
  const logger = resolved.logger ?? createLogger('info');
  const clock = resolved.clock ?? systemClock;
  const store = await storeOf(resolved as ResolvedOptions, logger);
  warnOnceAbout(store, logger);
  // Through @opentelemetry/api when the app has it and has registered an SDK; otherwise nothing is wrapped.
  const telemetry = await loadTelemetry();
  const timedStore = instrumentedStore(store, telemetry);
  const codec = new SessionCodec(internals.userSchema, internals.dataSchema, internals.migrate);
  /** Gatehouse's procedures that start sessions with the data schema's defaults. */
  const authProcedures = (definition.routes.auth as unknown as AnyRouter)._def.procedures as Record<string, unknown>;
  const startingProcedures = [authProcedures['login'], authProcedures['register']];
  const teamHook = sessionEventSink(resolved.onSessionEvent, logger);
  // Session events go to the open-stream watch (built on the session store, so known only after it) and the team's hook.
  const listeners: { watch?: SessionWatch } = {};
  const services = await createServices(
    resolved,
    timedStore,
    clock,
    codec,
    (event) => {
      telemetry.sessionEvent(event);
      listeners.watch?.onEvent(event);
      teamHook(event);
    },
    resolved.accounts,
    resolved.hasher,
    telemetry,
    logger,
  );
  const sessionWatch = new SessionWatch(services.sessions, resolved.streamCheckIntervalMs);
  listeners.watch = sessionWatch;
  const { cookie, trustProxy } = resolved;
  // A rotation reads the user from the accounts as they are now: a rotated session never keeps a stale role.
  const core = new SessionCore(services.sessions, clock, userSourceOf(services.accounts) as UserSource);
  const sweeper = startSweeper(timedStore, logger);
  /** The tRPC prefixes this Gatehouse serves: a store failure while loading a session there is answered in tRPC's shape. */
  const trpcPrefixes = new Set<string>();
  const withinTrpc = (path: string) => [...trpcPrefixes].some((prefix) => path === prefix || path.startsWith(`${prefix}/`));

  const teamContext = internals.context;
  const createContext = async (ctx: Koa.Context): Promise<GatehouseBaseContext<{ id: string }, object, unknown>> => {
    const session = sessionHandleOf(ctx) as unknown as SessionHandle<{ id: string }, object, unknown>;
    const base = {
      session,
      user: session.current?.user ?? null,
      clock,
      requestId: ctx.state['requestId'] as string,
      clientAddress: clientViewOf(ctx, trustProxy).address,
      log: lazyLogOf(ctx, logger),
      services,
    };
    if (!teamContext) return base;
    const own = await teamContext(ctx);
    for (const key of RESERVED_CONTEXT_KEYS) {
      if (own !== null && typeof own === 'object' && key in own) {
        throw new Error(`initGatehouse({ context }) returned a field named "${key}", which is Gatehouse's own: rename it (Gatehouse's are ${RESERVED_CONTEXT_KEYS.join(', ')}).`);
      }
    }
    return { ...own, ...base };
  };
  /** A streamed answer (an SSE subscription) ends when its session ends, here or on another instance. */
  const streamSignal = (ctx: Koa.Context): AbortSignal | undefined => {
    ctx.res.once('close', telemetry.streamOpened());
    const live = liveOf(sessionHandleOf(ctx).state);
    if (!live) return undefined;
    const watched = sessionWatch.watch(live.id);
    ctx.res.once('close', watched.release);
    return watched.signal;
  };

  const sessionMiddleware = cookieSessionMiddleware({
    cookieName: cookie.name,
    secure: cookie.secure,
    trustProxy,
    sameSite: cookie.sameSite,
    clearSiteData: cookie.clearSiteData,
    absoluteTimeoutMs: resolved.absoluteTimeoutMs,
    bearer: resolved.bearer,
    signer: new CookieSigner(resolved.keys),
    core,
    logger,
    telemetry,
  });
  return {
    options: resolved,
    logger,
    clock,
    store,
    services,
    sweeper,
    session() {
      return async function gatehouseSessionMiddleware(ctx, next) {
        try {
          await sessionMiddleware(ctx, next);
          if (ctx.status === 503) telemetry.unavailableAnswer(ctx);
          // Chromium ignores Clear-Site-Data from a page that is not a secure context (http:// on a host name other
          // than localhost), and then also drops the answer's Set-Cookie that expires Gatehouse's cookie.
          if (cookie.clearSiteData && ctx.res.hasHeader('Clear-Site-Data') && !isSecureContext(ctx, trustProxy)) ctx.res.removeHeader('Clear-Site-Data');
        } catch (error) {
          // A request whose credentials are refused (a cookie and a token; a token in the URL): 400 invalid_request.
          if (isCredentialRefusal(error) && withinTrpc(ctx.path)) {
            assignRequestId(ctx, logger);
            for (const [name, value] of Object.entries(error.headers)) ctx.set(name, value);
            sendError(ctx, error.code, error.message);
            return;
          }
          // On Gatehouse's own prefix a store outage is a tRPC-shaped 503; elsewhere it is the host's
          // error to handle (a StoreUnavailableError has status 503 and a message safe to show).
          // Elsewhere it is answered 503 too (by the error boundary, or Koa for its status).
          if (isStoreUnavailable(error)) telemetry.unavailableAnswer(ctx);
          // An end that was made but whose replication is not confirmed still clears the credential it ended.
          // Not enumerable: an error logger must not print a cookie it hands over.
          if (isStoreUnconfirmed(error) && !withinTrpc(ctx.path)) Object.defineProperty(error, 'headers', { value: credentialHeadersOf(ctx), enumerable: false });
          if (!isStoreUnavailable(error) || !withinTrpc(ctx.path)) throw error;
          logOf(ctx, logger).warn({ err: error.cause ?? error, operation: error.operation }, 'store unavailable');
          if (!isStoreUnconfirmed(error)) {
            ctx.res.removeHeader('Set-Cookie');
            ctx.res.removeHeader('Clear-Site-Data');
          }
          ctx.set('Retry-After', '1');
          sendError(ctx, 'SERVICE_UNAVAILABLE', error.message);
        }
      };
    },
    trpc({ router, prefix = '/trpc', maxBodySize, maxBatchSize }) {
      if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*[^/]$/.test(prefix)) {
        throw new Error(`gatehouse.trpc(): prefix must start with "/" and not end with one (e.g. "/api/trpc"), got "${prefix}"`);
      }
      checkRouter(router, (definition.router as (routes: Record<string, never>) => AnyRouter)({}), startingProcedures, codec);
      trpcPrefixes.add(prefix);
      const origin = originGuard({ allowedOrigins: resolved.allowedOrigins, trustProxy, logger });
      const json = contentTypeGuard();
      const mount = koaTrpcMount({
        router,
        prefix,
        ...(maxBodySize === undefined ? {} : { maxBodySize }),
        ...(maxBatchSize === undefined ? {} : { maxBatchSize }),
        createContext: createContext as never,
        logger,
        streamSignal,
      });
      const guarded = (ctx: Koa.Context, next: Koa.Next) => origin(ctx, () => json(ctx, () => mount(ctx, next)));
      // A bearer request carries no ambient credential: the Origin / Fetch-Metadata checks, which stop a cross-site
      // page riding on the browser's cookie, do not apply (and native shells send Origin: tauri://localhost or null).
      const bearerGuarded = (ctx: Koa.Context, next: Koa.Next) => json(ctx, () => mount(ctx, next));
      const procedures = router._def.procedures as Record<string, unknown>;
      return function gatehouseTrpc(ctx, next) {
        if (ctx.path !== prefix && !ctx.path.startsWith(`${prefix}/`)) return next();
        const session = sessionHandleOrNone(ctx);
        if (!session) {
          throw new Error('gatehouse.trpc() needs gatehouse.session() mounted before it: app.use(gatehouse.session()); app.use(gatehouse.trpc({ router }))');
        }
        assignRequestId(ctx, logger);
        // tRPC's connectionParams ride in the query string (httpSubscriptionLink): never a place for a credential.
        if (ctx.querystring.includes('connectionParams')) {
          sendError(ctx, 'BAD_REQUEST', transportMessages.connectionParamsRefused);
          return undefined;
        }
        // A stream needs its session before its first byte: an HTTP 401 an EventSource reports, never a 200 and an error event.
        if (ctx.method === 'GET' && ctx.get('accept').includes('text/event-stream') && !liveOf(session.state)) {
          const path = ctx.path.slice(prefix.length + 1);
          if (session.credentialPresented || requiresSession(procedures[path])) {
            if (session.carrierKind === 'bearer') ctx.set('WWW-Authenticate', session.credentialPresented ? 'Bearer error="invalid_token"' : 'Bearer');
            sendError(ctx, 'UNAUTHORIZED', errorMessages.unauthorized);
            return undefined;
          }
        }
        return session.carrierKind === 'bearer' ? bearerGuarded(ctx, next) : guarded(ctx, next);
      };
    },
    sessionOf: (ctx) => sessionHandleOf(ctx) as unknown as SessionHandle<{ id: string }, object, unknown>,
    requestId: () => requestId(logger),
    securityHeaders: () => securityHeaders({ production: cookie.secure }),
    cors() {
      const allowed = new Set(resolved.allowedOrigins);
      return cors({
        origin: (ctx) => (allowed.has(ctx.get('origin')) ? ctx.get('origin') : ''),
        credentials: true,
        allowMethods: ['GET', 'POST'],
        allowHeaders: ['content-type', 'trpc-accept', ...(resolved.bearer ? ['authorization', BEARER_REQUEST_HEADER, DEVICE_HEADER, REMEMBER_HEADER] : [])],
        // A bearer client in another origin (a desktop shell's web view) reads its rotated token from these.
        ...(resolved.bearer ? { exposeHeaders: [...BEARER_EXPOSED_HEADERS] } : {}),
        maxAge: 600,
      });
    },
    httpsOnly: (httpsOptions = {}) => httpsGuard({ trustProxy, ...(httpsOptions.except ? { except: httpsOptions.except } : {}) }),
    healthz: (healthOptions = {}) => healthz(timedStore, healthOptions.path),
    csrf: (csrfOptions) => csrfGuard(csrfOptions, { allowedOrigins: resolved.allowedOrigins, trustProxy, logger }),
    errorBoundary: () => errorBoundary({ logger, isTrpcPath: withinTrpc, onUnavailable: (ctx) => telemetry.unavailableAnswer(ctx) }),
    async close() {
      sweeper.stop();
      sessionWatch.close();
      await store.close();
    },
  };
}

/** The store the options name, opened; backend errors are logged without the URL's credentials (D2). */
async function storeOf(options: ResolvedOptions, logger: Logger): Promise<KeyValueStore> {
  if (typeof options.store !== 'string') return options.store;
  const scrub = secretScrubber(options.store);
  return openStore({
    url: options.store,
    timeoutMs: options.storeTimeoutMs,
    namespace: options.storeNamespace,
    onError: (error) => logger.warn({ err: scrubbedError(error, scrub) }, 'store error'),
  });
}

/** Stores whose startup warning was logged: one store handed to several Gatehouses is announced once. */
const announced = new WeakSet<KeyValueStore>();

/** Logs the store's startup warning (`keyvStore`: single-instance) once, so whoever runs it reads the limit. */
function warnOnceAbout(store: KeyValueStore, logger: Logger): void {
  if (!store.startupWarning || announced.has(store)) return;
  announced.add(store);
  logger.warn({ event: 'store.startupWarning', store: store.kind }, store.startupWarning);
}

/** An error as the log shows it, with the store URL's secrets removed from its message and stack. */
function scrubbedError(error: unknown, scrub: (text: string) => string): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: scrub(String(error)) };
  const { code } = error as { code?: unknown };
  return { type: error.name, message: scrub(error.message), ...(code === undefined ? {} : { code }), ...(error.stack ? { stack: scrub(error.stack) } : {}) };
}

/**
 * Mount-time checks of a router against the definition `createGatehouse`
 * got: built with that definition's builders (else its procedures are typed
 * for a context — your user, data and fields — this app does not build),
 * and, when it holds Gatehouse's login or registration, a session-data
 * schema those can start sessions with (they pass no data: your defaults).
 */
function checkRouter(router: AnyRouter, emptyRouterOfDefinition: AnyRouter, startingProcedures: readonly unknown[], codec: SessionCodec): void {
  if (router._def._config !== emptyRouterOfDefinition._def._config) {
    throw new Error(
      'gatehouse.trpc(): this router was not built with the builders of the definition createGatehouse() got. Build it with your definition (gh.router, gh.protectedProcedure, …) and pass the same definition: createGatehouse(gh, options).',
    );
  }
  // By identity, wherever they are nested: `{ account: gh.routes.auth }` starts sessions too.
  if (!Object.values(router._def.procedures as Record<string, unknown>).some((procedure) => startingProcedures.includes(procedure))) return;
  try {
    codec.data({});
  } catch (error) {
    throw new Error(
      `gatehouse.trpc(): your router has Gatehouse's auth.login/auth.register, which start sessions with your sessionData schema's defaults, but {} does not parse: ${(error as Error).message.replace(/^Invalid session data: /, '')}. Give every field of initGatehouse({ sessionData }) a .default(…), or make it .optional().`,
    );
  }
}

/** The answer's headers that hand over or clear a credential, for an error answer to set again (Koa's `err.headers`). */
function credentialHeadersOf(ctx: Koa.Context): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const name of ['Set-Cookie', 'Clear-Site-Data', 'Gatehouse-Session-Token']) {
    const value = ctx.res.getHeader(name);
    if (typeof value === 'string' || Array.isArray(value)) headers[name] = value;
  }
  return headers;
}
