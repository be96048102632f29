import type Koa from 'koa';
import type { Carrier } from './carriedSession.js';
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

/**
 * The signed cookie as a carrier: koa-session writes the cookie (its
 * `externalKey.set`, Gatehouse's signer) when the core has issued a
 * session, and clears it when the session ends.
 */
export class CookieCarrier implements Carrier {
  /** The id koa-session's `genid` hands out while a new session's cookie is being written. */
  issuing: string | undefined;
  readonly #koa: KoaSessionContext;
  readonly #ctx: Koa.Context;
  readonly #clearSiteData: boolean;

  constructor(koa: KoaSessionContext, ctx: Koa.Context, clearSiteData: boolean) {
    this.#koa = koa;
    this.#ctx = ctx;
    this.#clearSiteData = clearSiteData;
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
  issue: () => Promise.resolve(),
  clear: () => Promise.resolve(),
  reissue: () => Promise.resolve(),
};
