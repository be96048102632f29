import type Koa from 'koa';
import type { Carrier } from './carriedSession.js';
import { cookieValues } from './cookieHeader.js';
import type { LiveSession } from './sessionCore.js';

/** koa-session's session object, on Gatehouse's own context (never the host's `ctx.session`). */
export interface KoaSessionLike extends Record<string, unknown> {
  regenerate(): Promise<void>;
  save(): Promise<void>;
  manuallyCommit(): Promise<void>;
}

/** The part of Gatehouse's private koa-session context a carrier uses. */
export interface KoaSessionContext {
  session: KoaSessionLike | null;
}

/** The known-device cookie: its name (the session cookie's, `-device` added) and attributes. */
export interface DeviceCookie {
  readonly name: string;
  readonly attributes: { httpOnly: true; secure: boolean; sameSite: 'lax' | 'strict'; path: '/'; overwrite: true; signed: false; maxAge: number };
}

/** Markers in the device cookie are joined with `~` (a cookie value may not hold a comma). */
const MARKER_SEPARATOR = '~';

/**
 * The signed cookie as a carrier: koa-session writes the cookie (its
 * `externalKey.set`, Gatehouse's signer) when the core has issued a
 * session, and clears it when the session ends. The known-device markers
 * ride in a cookie of their own, which outlives a logout (that is the
 * point of them) unless `Clear-Site-Data` drops it.
 */
export class CookieCarrier implements Carrier {
  readonly kind = 'cookie' as const;
  /** The id koa-session's `genid` hands out while a new session's cookie is being written. */
  issuing: string | undefined;
  readonly #koa: KoaSessionContext;
  readonly #ctx: Koa.Context;
  readonly #clearSiteData: boolean;
  readonly #device: DeviceCookie;

  constructor(koa: KoaSessionContext, ctx: Koa.Context, options: { clearSiteData: boolean; device: DeviceCookie }) {
    this.#koa = koa;
    this.#ctx = ctx;
    this.#clearSiteData = options.clearSiteData;
    this.#device = options.device;
  }

  get deviceMarkers(): readonly string[] {
    const values = cookieValues(this.#ctx.get('cookie'), this.#device.name);
    return values.length === 1 ? values[0]!.split(MARKER_SEPARATOR) : [];
  }

  rememberDevice(markers: readonly string[]): void {
    this.#ctx.cookies.set(this.#device.name, markers.join(MARKER_SEPARATOR), this.#device.attributes);
  }

  async issue(live: LiveSession): Promise<void> {
    // After an end() in the same request (a batch: logout, then login) koa-session needs a session object anew.
    if (!this.#koa.session) (this.#koa as { session: unknown }).session = {};
    this.issuing = live.id;
    try {
      // Trap: `ctx.session = {}` keeps the id; regenerate() drops the old cookie and writes one for `genid`'s id.
      await this.#koa.session!.regenerate();
    } finally {
      this.issuing = undefined;
    }
  }

  async clear(): Promise<void> {
    const session = this.#koa.session;
    if (session) {
      // koa-session: with the session set to null, commit() clears the cookie.
      this.#koa.session = null;
      await session.manuallyCommit();
    }
    if (this.#clearSiteData) this.#ctx.set('Clear-Site-Data', '"cookies"');
  }

  async reissue(): Promise<void> {
    await this.#koa.session?.save();
  }
}

/** A request that may not carry a session (plain HTTP with Secure cookies) hands nothing out. */
export const NO_CARRIER: Carrier = {
  kind: 'cookie',
  issue: () => Promise.resolve(),
  clear: () => Promise.resolve(),
  reissue: () => Promise.resolve(),
  deviceMarkers: [],
  rememberDevice: () => undefined,
};
