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
  /**
   * Runs koa-session's start of a request on this context, once (later calls
   * resolve at once): a request that writes no cookie never pays for it.
   */
  engage(): Promise<void>;
}

/** A cookie of Gatehouse's beside the session's: its name (the session cookie's, with a suffix) and attributes. */
export interface SideCookie {
  readonly name: string;
  readonly attributes: { httpOnly: true; secure: boolean; sameSite: 'lax' | 'strict'; path: '/'; overwrite: true; signed: false; maxAge?: number | undefined };
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
  readonly #device: SideCookie;
  readonly #remember: SideCookie;

  constructor(koa: KoaSessionContext, ctx: Koa.Context, options: { clearSiteData: boolean; device: SideCookie; remember: SideCookie }) {
    this.#koa = koa;
    this.#ctx = ctx;
    this.#clearSiteData = options.clearSiteData;
    this.#device = options.device;
    this.#remember = options.remember;
  }

  get staySignedIn(): string | undefined {
    const values = cookieValues(this.#ctx.get('cookie'), this.#remember.name);
    return values.length === 1 ? values[0] : undefined;
  }

  handOverStaySignedIn(value: string | null, maxAgeMs = 0): void {
    // Dropped: expired with the same attributes (a past date). Kept: no longer than the series lives (its hard end).
    if (value === null) this.#ctx.cookies.set(this.#remember.name, '', { ...this.#remember.attributes, maxAge: undefined, expires: new Date(0) });
    else this.#ctx.cookies.set(this.#remember.name, value, { ...this.#remember.attributes, maxAge: Math.max(0, maxAgeMs) });
  }

  get deviceMarkers(): readonly string[] {
    const values = cookieValues(this.#ctx.get('cookie'), this.#device.name);
    return values.length === 1 ? values[0]!.split(MARKER_SEPARATOR) : [];
  }

  keepDeviceMarkers(markers: readonly string[]): void {
    this.#ctx.cookies.set(this.#device.name, markers.join(MARKER_SEPARATOR), this.#device.attributes);
  }

  async issue(live: LiveSession): Promise<void> {
    await this.#koa.engage();
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
    await this.#koa.engage();
    const session = this.#koa.session;
    if (session) {
      // koa-session: with the session set to null, commit() clears the cookie.
      this.#koa.session = null;
      await session.manuallyCommit();
    }
    if (this.#clearSiteData) this.#ctx.set('Clear-Site-Data', '"cookies"');
  }

  async reissue(): Promise<void> {
    await this.#koa.engage();
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
  keepDeviceMarkers: () => undefined,
  staySignedIn: undefined,
  handOverStaySignedIn: () => undefined,
};
