import { EventEmitter } from 'node:events';
import { TRPCError } from '@trpc/server';
import type Koa from 'koa';
import createSession from 'koa-session';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { clientViewOf } from '../http/forwarded.js';
import { cookieValues } from './cookieHeader.js';
import type { CookieSigner } from './cookieSigner.js';
import { type KoaSessionLike, notSignedIn, RequestSession } from './requestSession.js';
import { isWellFormedSessionId, newSessionId } from './sessionId.js';
import { liveOf } from './sessionState.js';
import type { SessionCodec } from './sessionCodec.js';
import type { SessionEventSink } from './sessionEvents.js';
import { type SessionRecord, sessionRecordShape } from './sessionRecord.js';
import type { SessionStore } from './sessionStore.js';

export interface SessionLayerOptions {
  cookieName: string;
  secure: boolean;
  /** Whether the proxy's `X-Forwarded-Proto` says a request came over HTTPS (its last value only). */
  trustProxy: boolean;
  sameSite: 'lax' | 'strict';
  /** Send `Clear-Site-Data: "cookies"` when a request ends its session. */
  clearSiteData: boolean;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  signer: CookieSigner;
  store: SessionStore;
  clock: Clock;
  logger: Logger;
}

const HANDLE = Symbol('gatehouse.session');
const MAX_COOKIE_VALUE = 128;
/** What koa-session holds as the id of a request without a session; not well formed, so never valid. */
const UNISSUED_ID = 'unissued';

type WithHandle = { [HANDLE]?: RequestSession };

/** Gatehouse's context for koa-session: the request's own session, never the host's `ctx.session`. */
interface PrivateContext {
  session: KoaSessionLike | null;
  cookies: Koa.Context['cookies'];
  get(name: string): string;
  [HANDLE]: RequestSession;
}

/** The session of a request, or a clear programming error when the session middleware has not run for it. */
export function sessionHandleOf(ctx: Koa.Context): RequestSession {
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
export const sessionHandleOrNone = (ctx: Koa.Context): RequestSession | undefined => (ctx.state as WithHandle)[HANDLE];

/**
 * The session middleware: signed cookie → hashed id → store, and nothing
 * else. koa-session does the lifecycle (load, commit, regenerate, destroy)
 * on a context of Gatehouse's own: koa-session extends an app's context
 * only once (DESIGN trap 10), so on the host's `ctx` a host's own
 * koa-session and Gatehouse's would share one session object and one set
 * of options. Here the host's `ctx.session` is never read or written.
 */
export class SessionLayer {
  readonly clock: Clock;
  readonly touchIntervalMs: number;
  readonly codec: SessionCodec;
  readonly emit: SessionEventSink;
  readonly clearSiteData: boolean;
  readonly #options: SessionLayerOptions;
  readonly #cookieAttributes: { httpOnly: true; sameSite: 'lax' | 'strict'; secure: boolean; path: '/'; overwrite: true; signed: false };

  constructor(options: SessionLayerOptions) {
    this.#options = options;
    this.clock = options.clock;
    this.codec = options.store.codec;
    this.emit = (event) => options.store.emit(event);
    this.clearSiteData = options.clearSiteData;
    // Extending the idle window costs a write at most this often per session.
    this.touchIntervalMs = Math.min(60_000, Math.max(1_000, Math.floor(options.idleTimeoutMs / 10)));
    // `signed: false`: Gatehouse signs the id itself; without it, a host app with `app.keys` would get a stray `.sig` cookie.
    this.#cookieAttributes = { httpOnly: true, sameSite: options.sameSite, secure: options.secure, path: '/', overwrite: true, signed: false };
  }

  expiresAt(record: SessionRecord): number {
    return this.#options.store.expiresAt(record);
  }

  /** The Koa middleware. */
  middleware(): Koa.Middleware {
    const { store, signer, cookieName, logger, secure, trustProxy, absoluteTimeoutMs } = this.#options;
    const requestOf = (shadow: PrivateContext) => shadow[HANDLE];
    const layer: SessionLayer = this as SessionLayer;
    const clock = this.clock;
    const cookieAttributes = this.#cookieAttributes;

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
        sameSite: this.#options.sameSite,
        // koa-session also draws an id for every request that arrives without a session, and throws it
        // away unless the request starts one. Only a start or rotation gets a real id; the placeholder
        // can never reach the store or a cookie (both refuse ids that are not well formed).
        genid: (shadow: PrivateContext) => (requestOf(shadow)?.commit?.kind === 'create' ? newSessionId() : UNISSUED_ID),
        externalKey: {
          get: (shadow: PrivateContext): string => {
            const values = cookieValues(shadow.get('cookie'), cookieName);
            if (values.length > 1) {
              logger.warn({ event: 'session.duplicate_cookie' }, 'duplicate session cookies: treated as no session');
              return '';
            }
            const raw = values[0];
            if (!raw || raw.length > MAX_COOKIE_VALUE) return '';
            const verified = signer.verify(raw);
            if (!verified || !isWellFormedSessionId(verified.id)) return '';
            requestOf(shadow).cookieKeyRotated = verified.rotated;
            return verified.id;
          },
          set: (shadow: PrivateContext, id: string) => {
            if (!isWellFormedSessionId(id)) throw new Error('refusing to put an unissued session id in a cookie');
            const state = requestOf(shadow).state;
            if (state.kind !== 'loaded' && state.kind !== 'started') return;
            const remaining = state.record.createdAt + absoluteTimeoutMs - clock.now();
            shadow.cookies.set(cookieName, signer.sign(id), { ...cookieAttributes, maxAge: Math.max(0, remaining) });
          },
        },
        store: {
          get: async (id: string, _maxAge: number, { ctx: shadow }: { ctx: PrivateContext }) => {
            const loaded = await store.load(id);
            if (!loaded) return undefined;
            const request = requestOf(shadow);
            request.state = Object.freeze({ kind: 'loaded', id, record: loaded.record, keyRotated: loaded.rotated || request.cookieKeyRotated });
            // The record lives in the request's state. koa-session gets an empty session to hold what a
            // transition changes (its Session constructor and change hash cost ~4 µs a read on a whole record).
            return {};
          },
          set: async (id: string, data: unknown, _maxAge: number, { ctx: shadow }: { ctx: PrivateContext }) => {
            if (!isWellFormedSessionId(id)) throw new Error('refusing to store a session under an unissued id');
            const request = requestOf(shadow);
            const commit = request.commit;
            // A rotation whose old session was ended meanwhile (a logout, a revocation, or this request's own
            // end() arriving while it ran) must not revive it.
            if (commit?.kind === 'create' && commit.rotation && (commit.oldRemoved === false || request.state.kind === 'ended')) {
              request.rotationLost();
              throw notSignedIn();
            }
            // A start writes a whole new record; a rotation or an update writes the live one with the fields it changed.
            const base = commit?.kind === 'create' || commit?.kind === 'update' ? commit.base : undefined;
            // The user and data were validated by the codec when set; this checks the record is whole.
            const record = sessionRecordShape.parse(base ? { ...base, ...(data as object) } : data) as SessionRecord;
            if (commit?.kind === 'create') {
              await store.create(id, record);
              request.started(id, record);
            } else {
              request.updated(record, await store.update(id, record));
            }
          },
          destroy: async (id: string, { ctx: shadow }: { ctx: PrivateContext }) => {
            const request = requestOf(shadow);
            const commit = request.commit;
            // Only a session this request loaded or wrote exists in the store; fresh anonymous ids never do.
            const candidate = commit?.kind === 'end' ? commit.live : liveOf(request.state);
            const live = candidate?.id === id ? candidate : undefined;
            // A rotation reports itself (rotated/refreshed); a start ends the session it replaces; an end says why.
            const reason = commit?.kind === 'end' ? commit.reason : commit?.kind === 'create' && !commit.rotation ? 'logout' : undefined;
            const removed = live ? await store.remove(id, live.record.user.id, reason) : false;
            if (commit?.kind === 'create' && commit.rotation) commit.oldRemoved = removed;
          },
        },
      } as Parameters<typeof createSession>[0],
      privateApp,
    );

    const refusal = new TRPCError({
      code: 'FORBIDDEN',
      message:
        'HTTPS is required to sign in (the session cookie is Secure). Serve this over HTTPS; behind a TLS-terminating proxy set trustProxy and have it send X-Forwarded-Proto: https; for local development over http:// set cookie.secure to false.',
    });
    const privateContext = privateApp.context;
    return async function gatehouseSession(ctx, next) {
      // A Secure cookie over plain HTTP would be refused by the browser, or by Koa's cookie writer with a 500:
      // such a request carries no session and cannot start one (C2). Only the trusted proxy's last value counts (D1).
      const https = clientViewOf(ctx, trustProxy).protocol === 'https';
      if (secure && !https) {
        (ctx.state as WithHandle)[HANDLE] = new RequestSession(ctx, layer, { session: null }, refusal);
        return next();
      }
      if (secure) ctx.cookies.secure = true;
      const shadow = Object.create(privateContext) as PrivateContext;
      Object.assign(shadow, { app: privateApp, req: ctx.req, res: ctx.res, cookies: ctx.cookies, request: ctx.request, response: ctx.response, get: (name: string) => ctx.get(name) });
      const request = new RequestSession(ctx, layer, shadow);
      shadow[HANDLE] = request;
      (ctx.state as WithHandle)[HANDLE] = request;
      await koaSession(shadow, async () => {
        await next();
        await request.finish();
      });
    };
  }
}
