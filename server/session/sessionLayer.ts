import { EventEmitter } from 'node:events';
import { TRPCError } from '@trpc/server';
import type Koa from 'koa';
import createSession from 'koa-session';
import type { Logger } from 'pino';
import { clientViewOf } from '../http/forwarded.js';
import { CarriedSession } from './carriedSession.js';
import { cookieValues } from './cookieHeader.js';
import { BEARER_REQUEST_HEADER, BearerCarrier, bearerTokenOf } from './bearerCarrier.js';
import { CookieCarrier, type SideCookie, type KoaSessionContext, NO_CARRIER } from './cookieCarrier.js';
import { BOTH_CREDENTIALS, credentialRefusal, TOKEN_IN_URL } from './credentialRefusal.js';
import type { CookieSigner } from './cookieSigner.js';
import type { SessionCore } from './sessionCore.js';
import { isWellFormedSessionId } from './sessionId.js';
import { liveOf } from './sessionState.js';
import { NO_TELEMETRY, type Telemetry } from '../telemetry/telemetry.js';

export interface SessionLayerOptions {
  cookieName: string;
  secure: boolean;
  /** Whether the proxy's `X-Forwarded-Proto` says a request came over HTTPS (its last value only). */
  trustProxy: boolean;
  sameSite: 'lax' | 'strict';
  /** Send `Clear-Site-Data: "cookies"` when a request ends its session. */
  clearSiteData: boolean;
  absoluteTimeoutMs: number;
  /** Bearer sessions are on (`Authorization: Bearer`, `Gatehouse-Session: bearer` at sign-in). */
  bearer: boolean;

  signer: CookieSigner;
  core: SessionCore;
  logger: Logger;
  /** Spans for loading and committing a request's session (default: none). */
  telemetry?: Telemetry;
}

const HANDLE = Symbol('gatehouse.session');
/** How long a browser stays "known" to the login throttle after signing in (renewed at every login). */
const DEVICE_COOKIE_MAX_AGE_MS = 180 * 24 * 3_600_000;
const MAX_COOKIE_VALUE = 128;
/** What koa-session holds as the id of a request without a session; not well formed, so never valid. */
const UNISSUED_ID = 'unissued';

type WithHandle = { [HANDLE]?: CarriedSession };

/** Gatehouse's context for koa-session: the request's own session, never the host's `ctx.session`. */
interface PrivateContext extends KoaSessionContext {
  cookies: Koa.Context['cookies'];
  /** The host's context of this request. */
  host: Koa.Context;
  /** The session id the cookie carried ('' for none), read once per request. */
  cookieId: string;
  /** Whether that id's session was live when the request loaded it (what koa-session's store answers). */
  loadedLive: boolean;
  /** koa-session's start of the request, once it was asked for (`engage`). */
  engaged: Promise<void> | undefined;
  get(name: string): string;
  [HANDLE]: { session: CarriedSession; carrier: CookieCarrier };
}

/** The session of a request, or a clear programming error when the session middleware has not run for it. */
export function sessionHandleOf(ctx: Koa.Context): CarriedSession {
  const handle = (ctx.state as WithHandle)[HANDLE];
  if (!handle) {
    throw new Error(
      'gatehouse.sessionOf(ctx) was called for a request that gatehouse.session() has not handled. ' +
        'Mount the session middleware before anything that reads the session: app.use(gatehouse.session()).',
    );
  }
  return handle;
}

/** The request's session if the session middleware ran, else `undefined`. */
export const sessionHandleOrNone = (ctx: Koa.Context): CarriedSession | undefined => (ctx.state as WithHandle)[HANDLE];

/**
 * The session middleware for the cookie carrier: signed cookie → session,
 * and nothing else. koa-session reads and writes the cookie on a context of
 * Gatehouse's own: koa-session extends an app's context only once (DESIGN
 * trap 10), so on the host's `ctx` a host's own koa-session and Gatehouse's
 * would share one session object and one set of options. Here the host's
 * `ctx.session` is never read or written. The store work is the core's.
 */
export function sessionMiddleware(options: SessionLayerOptions): Koa.Middleware {
  const { core, signer, cookieName, logger, secure, trustProxy, absoluteTimeoutMs, clearSiteData, bearer } = options;
  const telemetry = options.telemetry ?? NO_TELEMETRY;
  // A span each: loading a presented session, and committing what the request changed (its store writes are their children).
  const load = (session: CarriedSession, id: string) => (telemetry.enabled ? telemetry.inSpan('gatehouse.session.load', () => session.load(id)) : session.load(id));
  const finish = (session: CarriedSession) => (telemetry.enabled && session.commitDue ? telemetry.inSpan('gatehouse.session.commit', () => session.finish()) : session.finish());
  const clock = core.clock;
  // `signed: false`: Gatehouse signs the id itself; without it, a host app with `app.keys` would get a stray `.sig` cookie.
  const cookieAttributes = { httpOnly: true, sameSite: options.sameSite, secure, path: '/', overwrite: true, signed: false } as const;
  const requestOf = (shadow: PrivateContext) => shadow[HANDLE];
  const deviceCookie: SideCookie = { name: `${cookieName}-device`, attributes: { ...cookieAttributes, maxAge: DEVICE_COOKIE_MAX_AGE_MS } };
  const rememberCookie: SideCookie = { name: `${cookieName}-remember`, attributes: cookieAttributes };

  // koa-session wants an app: a private one, whose context it extends (the host app's stays untouched).
  const privateApp = Object.assign(new EventEmitter(), { context: {} as object, use: () => privateApp });
  privateApp.on('error', () => undefined);
  const koaSession = createSession(
    {
      key: cookieName,
      maxAge: absoluteTimeoutMs,
      autoCommit: false,
      overwrite: true,
      httpOnly: true,
      // Gatehouse signs the id itself (HMAC-SHA-256, one cookie) instead of koa's SHA-1 `.sig` cookie.
      signed: false,
      rolling: false,
      renew: false,
      secure,
      sameSite: options.sameSite,
      // koa-session also draws an id for every request that arrives without a session, and throws it away
      // unless the request starts one. Only a session the core wrote gets its id; the placeholder can never
      // reach a cookie (the writer refuses ids that are not well formed).
      genid: (shadow: PrivateContext) => requestOf(shadow)?.carrier.issuing ?? UNISSUED_ID,
      externalKey: {
        get: (shadow: PrivateContext): string => shadow.cookieId,
        set: (shadow: PrivateContext, id: string) => {
          if (!isWellFormedSessionId(id)) throw new Error('refusing to put an unissued session id in a cookie');
          const live = liveOf(requestOf(shadow).session.state);
          if (live?.id !== id) return;
          const remaining = live.record.createdAt + absoluteTimeoutMs - clock.now();
          shadow.cookies.set(cookieName, signer.sign(id), { ...cookieAttributes, maxAge: Math.max(0, remaining) });
        },
      },
      // koa-session's store: reads go to the core; its writes are the core's already (it only writes the cookie).
      store: {
        // The request loaded the session before koa-session was engaged (the middleware below). The record lives
        // in the request's state; koa-session gets an empty session object (its change hash over a whole record
        // cost ~4 µs a read) that only ever carries the cookie.
        get: (_id: string, _maxAge: number, { ctx: shadow }: { ctx: PrivateContext }) => Promise.resolve(shadow.loadedLive ? {} : undefined),
        set: (id: string) => {
          if (!isWellFormedSessionId(id)) return Promise.reject(new Error('refusing to store a session under an unissued id'));
          return Promise.resolve();
        },
        destroy: () => Promise.resolve(),
      },
    } as Parameters<typeof createSession>[0],
    privateApp,
  );

  const refusal = new TRPCError({
    code: 'FORBIDDEN',
    message:
      'HTTPS is required to sign in (the session cookie is Secure). Serve this over HTTPS; behind a TLS-terminating proxy set trustProxy and have it send X-Forwarded-Proto: https; for local development over http:// set cookie.secure to false.',
  });
  const privateContext = privateApp.context as { get?: (this: PrivateContext, name: string) => string; engage?: (this: PrivateContext) => Promise<void> };
  // On the prototype, not a closure per request: a request header of the host's context.
  privateContext.get = function get(this: PrivateContext, name: string): string {
    return this.host.get(name);
  };
  // koa-session only writes and clears the cookie (autoCommit is off): a request that does neither — most
  // reads — never runs it, which saved its per-request context, options copy, session object and change hash
  // (about 7 % of a read's CPU in the profile). The carrier engages it before its first cookie write.
  privateContext.engage = function engage(this: PrivateContext): Promise<void> {
    this.engaged ??= koaSession(this as unknown as Koa.Context, () => Promise.resolve());
    return this.engaged;
  };

  /** The verified session id of the request's cookie, or '' (none, duplicated, oversized, forged or malformed). */
  function cookieIdOf(shadow: PrivateContext): string {
    const values = cookieValues(shadow.host.req.headers.cookie ?? '', cookieName);
    if (values.length > 0) requestOf(shadow).session.credentialPresented = true;
    if (values.length > 1) {
      logger.warn({ event: 'session.duplicate_cookie' }, 'duplicate session cookies: treated as no session');
      return '';
    }
    const raw = values[0];
    if (!raw || raw.length > MAX_COOKIE_VALUE) return '';
    const verified = signer.verify(raw);
    if (!verified || !isWellFormedSessionId(verified.id)) return '';
    requestOf(shadow).session.credentialKeyRotated = verified.rotated;
    return verified.id;
  }

  /** A request with a bearer token, or asking for one at sign-in: no cookie is read or written. */
  async function bearerRequest(ctx: Koa.Context, next: Koa.Next, token: string | undefined, userAgent: string | null): Promise<void> {
    const carrier = new BearerCarrier(ctx, signer);
    const session = new CarriedSession(core, carrier, { userAgent, signer });
    (ctx.state as WithHandle)[HANDLE] = session;
    session.credentialPresented = token !== undefined;
    // A tampered, oversized or malformed token is no session, without a store lookup.
    const verified = token && token.length <= MAX_COOKIE_VALUE ? signer.verify(token) : undefined;
    if (verified && isWellFormedSessionId(verified.id)) {
      session.credentialKeyRotated = verified.rotated;
      await load(session, verified.id);
    }
    await session.resumeIfRemembered();
    await next();
    await finish(session);
    // RFC 6750 §3.1: no token, no error code; a bad, expired or ended one, invalid_token.
    if (ctx.status === 401) ctx.set('WWW-Authenticate', token === undefined ? 'Bearer' : 'Bearer error="invalid_token"');
  }

  return async function gatehouseSession(ctx, next) {
    const headers = ctx.req.headers;
    const userAgent = headers['user-agent']?.slice(0, 512) || null;
    // RFC 6750 §2.3 allows a token in the query string; logs, proxies and browser history keep URLs (B1).
    if (ctx.querystring.includes('access_token') && new URLSearchParams(ctx.querystring).has('access_token')) throw credentialRefusal(TOKEN_IN_URL);
    const token = bearer ? bearerTokenOf(headers.authorization ?? '') : undefined;
    const asksForBearer = bearer && String(headers[BEARER_REQUEST_HEADER] ?? '').toLowerCase() === 'bearer';
    // A Secure cookie (or a token) over plain HTTP would be readable on the way: such a request carries no
    // session and cannot start one (C2). Only the trusted proxy's last value counts (D1).
    const https = clientViewOf(ctx, trustProxy).protocol === 'https';
    if (secure && !https) {
      (ctx.state as WithHandle)[HANDLE] = new CarriedSession(core, NO_CARRIER, { userAgent, refusal });
      return next();
    }
    if (token !== undefined || asksForBearer) {
      // Never silently one of two credentials (RFC 6750 §3.1: invalid_request).
      if (token !== undefined && cookieValues(headers.cookie, cookieName).length > 0) throw credentialRefusal(BOTH_CREDENTIALS);
      return bearerRequest(ctx, next, token, userAgent);
    }
    if (secure) ctx.cookies.secure = true;
    const shadow = Object.create(privateContext) as PrivateContext;
    Object.assign(shadow, { app: privateApp, req: ctx.req, res: ctx.res, cookies: ctx.cookies, request: ctx.request, response: ctx.response, host: ctx, cookieId: '', loadedLive: false, engaged: undefined });
    const carrier = new CookieCarrier(shadow, ctx, { clearSiteData, device: deviceCookie, remember: rememberCookie });
    const session = new CarriedSession(core, carrier, { userAgent, signer });
    shadow[HANDLE] = { session, carrier };
    (ctx.state as WithHandle)[HANDLE] = session;
    shadow.cookieId = cookieIdOf(shadow);
    if (shadow.cookieId) {
      await load(session, shadow.cookieId);
      shadow.loadedLive = liveOf(session.state) !== undefined;
    }
    await session.resumeIfRemembered();
    await next();
    await finish(session);
  };
}
