import type Koa from 'koa';
import type { Carrier } from './carriedSession.js';
import type { CookieSigner } from './cookieSigner.js';
import type { LiveSession } from './sessionCore.js';

/** Request header with which a client asks for a bearer session at sign-in (and says it is a bearer client). */
export const BEARER_REQUEST_HEADER = 'gatehouse-session';
/** Response header that hands a bearer client its (new) token, or `ended` when its session ended. */
export const TOKEN_HEADER = 'Gatehouse-Session-Token';
/** Both ways: a bearer client's known-device markers (the login throttle's hint), `~`-separated. */
export const DEVICE_HEADER = 'Gatehouse-Device';
/** Both ways: a bearer client's "stay signed in" credential (`ended`: drop it). */
export const REMEMBER_HEADER = 'Gatehouse-Remember';
/** What `TOKEN_HEADER` says when the session ended: forget the token. */
export const TOKEN_ENDED = 'ended';
/** The response headers a bearer client in another origin (a desktop shell's web view) must be able to read. */
export const BEARER_EXPOSED_HEADERS = [TOKEN_HEADER, DEVICE_HEADER, REMEMBER_HEADER] as const;

/**
 * A bearer token as a carrier (native apps, CLIs): the same signed id as
 * the cookie, sent as `Authorization: Bearer <token>`. A new session's token
 * goes back in a response header (and in the sign-in's body); nothing is
 * ever written to or read from a cookie.
 */
export class BearerCarrier implements Carrier {
  readonly kind = 'bearer' as const;
  issuedToken: string | undefined;
  readonly #ctx: Koa.Context;
  readonly #signer: CookieSigner;

  constructor(ctx: Koa.Context, signer: CookieSigner) {
    this.#ctx = ctx;
    this.#signer = signer;
  }

  get deviceMarkers(): readonly string[] {
    const header = this.#ctx.get(DEVICE_HEADER);
    return header ? header.split('~') : [];
  }

  keepDeviceMarkers(markers: readonly string[]): void {
    this.#ctx.set(DEVICE_HEADER, markers.join('~'));
  }

  get staySignedIn(): string | undefined {
    return this.#ctx.get(REMEMBER_HEADER) || undefined;
  }

  handOverStaySignedIn(value: string | null): void {
    this.#ctx.set(REMEMBER_HEADER, value ?? TOKEN_ENDED);
  }

  issue(live: LiveSession): Promise<void> {
    this.issuedToken = this.#signer.sign(live.id);
    this.#ctx.set(TOKEN_HEADER, this.issuedToken);
    return Promise.resolve();
  }

  reissue(live: LiveSession): Promise<void> {
    return this.issue(live);
  }

  clear(): Promise<void> {
    this.issuedToken = undefined;
    this.#ctx.set(TOKEN_HEADER, TOKEN_ENDED);
    return Promise.resolve();
  }
}

/**
 * The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1):
 * `''` for a malformed one, `undefined` without one (or with another scheme,
 * which is not Gatehouse's).
 */
export function bearerTokenOf(authorization: string): string | undefined {
  if (!/^bearer(?: |$)/i.test(authorization)) return undefined;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization);
  return match ? match[1]! : '';
}
