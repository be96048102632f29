import type Koa from 'koa';
import { TRPCError } from '@trpc/server';
import createSession from 'koa-session';
import type { Logger } from 'pino';
import { errorMessages } from '../../shared/errors.js';
import type { Role } from '../../shared/user.js';
import type { Clock } from '../clock.js';
import type { CookieSigner } from './cookieSigner.js';
import { clientViewOf } from '../http/forwarded.js';
import { cookieValues } from './cookieHeader.js';
import { isWellFormedSessionId, newSessionId, publicIdOf } from './sessionId.js';
import { type SessionRecord, sessionRecordSchema } from './sessionRecord.js';
import type { SessionStore } from './sessionStore.js';

/** The current session as procedures see it. */
export interface ActiveSession {
  readonly publicId: string;
  /** Short, non-reversible tag for logs. */
  readonly logTag: string;
  readonly record: Readonly<SessionRecord>;
  readonly expiresAt: number;
}

export interface SessionUser {
  id: string;
  username: string;
  role: Role;
}

/** The typed session API that tRPC context gets instead of `ctx.session`. */
export interface SessionHandle {
  readonly current: ActiveSession | null;
  /** Starts a fresh session for `user`: new id, the old session destroyed, nothing carried over. */
  start(user: SessionUser): Promise<void>;
  /** Gives the current session a new id (password change); the old id dies. */
  rotate(): Promise<void>;
  /** Ends the session server-side and clears the cookie. Resolves whether there was one. */
  end(): Promise<boolean>;
}

export interface SessionLayerOptions {
  cookieName: string;
  secure: boolean;
  /** Whether the proxy's `X-Forwarded-Proto` says a request came over HTTPS (its last value only). */
  trustProxy: boolean;
  sameSite: 'lax' | 'strict';
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  signer: CookieSigner;
  store: SessionStore;
  clock: Clock;
  logger: Logger;
}

type SessionWriteMode = 'create' | 'update';

interface Loaded {
  id: string;
  /** May be a frozen record shared with other requests (the opened-record memo). */
  record: Readonly<SessionRecord>;
  rotated: boolean;
}

const HANDLE = Symbol('gatehouse.session');
const MAX_COOKIE_VALUE = 128;
/** What koa-session holds as the id of a request without a session; not well formed, so never valid. */
const UNISSUED_ID = 'unissued';

/** The session handle of a request that went through the session layer. */
export function sessionHandleOf(ctx: Koa.Context): SessionHandle {
  const handle = (ctx.state as Record<symbol, RequestSession | undefined>)[HANDLE];
  if (!handle) throw new Error('the Gatehouse session middleware has not run for this request');
  return handle;
}

export const logTagOf = (publicId: string) => publicId.slice(0, 10);

/**
 * Per-request session state: what was loaded, what this request did to it.
 * The only code that touches koa-session's `ctx.session`.
 */
class RequestSession implements SessionHandle {
  loaded: Loaded | undefined;
  cookieRotated = false;
  mode: SessionWriteMode | undefined;
  /** Set when a write of this request created a session under a new id. */
  written: { id: string; record: SessionRecord } | undefined;
  ended = false;
  /** An update found the record gone: revoked while this request was in flight. */
  vanished = false;
  /** Set while rotate() runs; `rotationLost` when the old record was already gone (logged out meanwhile). */
  rotating = false;
  rotationLost = false;

  constructor(
    private readonly ctx: Koa.Context,
    private readonly layer: SessionLayer,
  ) {}

  /** The last `current` built, reused while the session it describes is unchanged. */
  #described: { id: string; record: SessionRecord; active: ActiveSession } | undefined;

  get current(): ActiveSession | null {
    if (this.ended || this.vanished) return null;
    const live = this.written ?? this.loaded;
    if (!live) return null;
    // Every request reads `current` (the tRPC context does); describing costs a SHA-256 for the public id.
    const memo = this.#described;
    if (memo && memo.id === live.id && memo.record === live.record) return memo.active;
    const active = this.layer.describe(live.id, live.record);
    this.#described = { id: live.id, record: live.record, active };
    return active;
  }

  async start(user: SessionUser): Promise<void> {
    const session = this.#koaSession();
    for (const key of Object.keys(session.toJSON())) Reflect.deleteProperty(session, key);
    const now = this.layer.clock.now();
    const record: SessionRecord = {
      v: 1,
      uid: user.id,
      username: user.username,
      role: user.role,
      createdAt: now,
      lastSeen: now,
      ua: this.ctx.get('user-agent').slice(0, 512) || null,
    };
    Object.assign(session, record);
    await this.#regenerate();
  }

  async rotate(): Promise<void> {
    if (!this.current) throw notSignedIn();
    this.#koaSession().lastSeen = this.layer.clock.now();
    this.rotating = true;
    try {
      await this.#regenerate();
    } finally {
      this.rotating = false;
    }
  }

  async end(): Promise<boolean> {
    const had = this.current !== null;
    const session = this.#koaSession();
    this.ctx.session = null;
    // Ended for every other call of this request (a batch) from now on, even while the store write runs.
    this.ended = true;
    // koa-session: with the session set to null, commit() destroys it in the store and clears the cookie.
    await session.manuallyCommit();
    this.written = undefined;
    this.ctx.set('Clear-Site-Data', '"cookies"');
    return had;
  }

  /** After the procedures ran: extend the idle window or re-seal under a new key, if due. */
  async finish(): Promise<void> {
    if (this.ended || this.written || !this.loaded) return;
    const now = this.layer.clock.now();
    const due = now - this.loaded.record.lastSeen >= this.layer.touchIntervalMs;
    if (!due && !this.loaded.rotated && !this.cookieRotated) return;
    this.#koaSession().lastSeen = now;
    this.mode = 'update';
    await this.#koaSession().save();
  }

  async #regenerate(): Promise<void> {
    this.mode = 'create';
    // Trap: `ctx.session = {}` keeps the id; regenerate() destroys the old one and issues a new one.
    await this.#koaSession().regenerate();
  }

  #koaSession() {
    const session = this.ctx.session;
    // e.g. a batch that logs out and then calls something that needs the session.
    if (!session) throw notSignedIn();
    return session as NonNullable<Koa.Context['session']> & Record<string, unknown>;
  }
}

/** `current`: the public id (a SHA-256) is worked out only if a procedure asks for it. */
class DescribedSession implements ActiveSession {
  /** Private: the raw id must never show up when a procedure logs or returns `current`. */
  readonly #id: string;
  #publicId: string | undefined;

  constructor(
    id: string,
    readonly record: SessionRecord,
    readonly expiresAt: number,
  ) {
    this.#id = id;
  }

  get publicId(): string {
    this.#publicId ??= publicIdOf(this.#id);
    return this.#publicId;
  }

  get logTag(): string {
    return logTagOf(this.publicId);
  }
}

const notSignedIn = () => new TRPCError({ code: 'UNAUTHORIZED', message: errorMessages.unauthorized });

/** Builds the session middleware: koa-session over `SessionStore`, with Gatehouse's cookie. */
export class SessionLayer {
  readonly clock: Clock;
  readonly touchIntervalMs: number;
  readonly #options: SessionLayerOptions;
  readonly #cookieAttributes: { httpOnly: true; sameSite: 'lax' | 'strict'; secure: boolean; path: '/'; overwrite: true };

  constructor(options: SessionLayerOptions) {
    this.#options = options;
    this.clock = options.clock;
    // Extending the idle window costs a write at most this often per session.
    this.touchIntervalMs = Math.min(60_000, Math.max(1_000, Math.floor(options.idleTimeoutMs / 10)));
    this.#cookieAttributes = {
      httpOnly: true,
      sameSite: options.sameSite,
      secure: options.secure,
      path: '/',
      overwrite: true,
    };
  }

  describe(id: string, record: SessionRecord): ActiveSession {
    return new DescribedSession(id, record, this.#options.store.expiresAt(record));
  }

  /** The Koa middleware; needs the app because koa-session extends its context. */
  middleware(app: Koa): Koa.Middleware {
    const { store, signer, cookieName, logger } = this.#options;
    const requestOfOrNone = (ctx: Koa.Context) => (ctx.state as Record<symbol, RequestSession | undefined>)[HANDLE];
    const requestOf = (ctx: Koa.Context) => requestOfOrNone(ctx)!;

    const koaSession = createSession(
      {
        key: cookieName,
        maxAge: this.#options.absoluteTimeoutMs,
        autoCommit: false,
        overwrite: true,
        httpOnly: true,
        // Gatehouse signs the id itself (HMAC-SHA-256, one cookie) instead of koa's SHA-1 `.sig` cookie.
        signed: false,
        rolling: false,
        renew: false,
        secure: this.#options.secure,
        sameSite: this.#options.sameSite,
        // koa-session also draws an id for every request that arrives without a session, and throws it
        // away unless the request starts one. Only a start or rotation (mode 'create') gets a real id;
        // the placeholder can never reach the store or a cookie (both refuse ids that are not well formed).
        // (`?.`: a host middleware may read `ctx.session` before this layer ran; koa-session then calls genid too.)
        genid: (ctx: Koa.Context) => (requestOfOrNone(ctx)?.mode === 'create' ? newSessionId() : UNISSUED_ID),
        externalKey: {
          get: (ctx: Koa.Context): string => {
            const values = cookieValues(ctx.get('cookie'), cookieName);
            if (values.length > 1) {
              logger.warn({ event: 'session.duplicate_cookie' }, 'duplicate session cookies: treated as no session');
              return '';
            }
            const raw = values[0];
            if (!raw || raw.length > MAX_COOKIE_VALUE) return '';
            const verified = signer.verify(raw);
            if (!verified || !isWellFormedSessionId(verified.id)) return '';
            requestOf(ctx).cookieRotated = verified.rotated;
            return verified.id;
          },
          set: (ctx: Koa.Context, id: string) => {
            if (!isWellFormedSessionId(id)) throw new Error('refusing to put an unissued session id in a cookie');
            const request = requestOf(ctx);
            if (request.vanished) return;
            const record = (request.written ?? request.loaded)?.record;
            const remaining = record ? record.createdAt + this.#options.absoluteTimeoutMs - this.clock.now() : 0;
            ctx.cookies.set(cookieName, signer.sign(id), {
              ...this.#cookieAttributes,
              maxAge: Math.max(0, remaining),
            });
          },
        },
        store: {
          get: async (id: string, _maxAge: number, { ctx }: { ctx: Koa.Context }) => {
            const loaded = await store.load(id);
            if (!loaded) return undefined;
            requestOf(ctx).loaded = { id, ...loaded };
            // koa-session copies the fields into its own Session object; no copy needed here.
            return loaded.record;
          },
          set: async (id: string, data: unknown, _maxAge: number, { ctx }: { ctx: Koa.Context }) => {
            if (!isWellFormedSessionId(id)) throw new Error('refusing to store a session under an unissued id');
            const request = requestOf(ctx);
            const record = sessionRecordSchema.parse(data);
            if (request.mode === 'create') {
              // A rotation whose old session was ended meanwhile (logout, revocation) must not revive it.
              if (request.rotationLost) {
                request.ended = true;
                throw notSignedIn();
              }
              await store.create(id, record);
              request.written = { id, record };
            } else {
              const stillThere = await store.update(id, record);
              if (stillThere && request.loaded) request.loaded = { ...request.loaded, record };
              else request.vanished = true;
            }
          },
          destroy: async (id: string, { ctx }: { ctx: Koa.Context }) => {
            const request = requestOf(ctx);
            // Only a session this request loaded or wrote exists in the store; fresh anonymous ids never do.
            const live = [request.written, request.loaded].find((s) => s?.id === id);
            if (!live) return;
            const removed = await store.remove(id, live.record.uid);
            if (request.rotating && !removed) request.rotationLost = true;
          },
        },
      } as Parameters<typeof createSession>[0],
      app,
    );

    const newRequest = (ctx: Koa.Context) => new RequestSession(ctx, this);
    const { secure, trustProxy } = this.#options;
    return async function gatehouseSession(ctx, next) {
      // Koa's cookie writer judges "secure" by the first X-Forwarded-Proto value; the trusted one is the last (D1).
      if (secure) ctx.cookies.secure = clientViewOf(ctx, trustProxy).protocol === 'https';
      const request = newRequest(ctx);
      (ctx.state as Record<symbol, RequestSession>)[HANDLE] = request;
      await koaSession(ctx, async () => {
        await next();
        await request.finish();
      });
    };
  }
}
