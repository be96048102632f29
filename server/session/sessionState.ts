import type { SessionRecord } from './sessionRecord.js';

/**
 * Where one request's session stands. Every rule of the lifecycle is a
 * statement about these states:
 *
 * - `anonymous`: no session (no cookie, a bad or unknown one, an expired
 *   record). Nothing is written for it.
 * - `loaded`: a live session read from the store. At the end of the
 *   request its idle window may be extended — only by a write that
 *   succeeds if the record still exists (a logout elsewhere wins).
 * - `started`: this request wrote a session under a new id (login,
 *   registration, rotation). The cookie carries the new id. Nothing of an
 *   earlier session carries over on start (L1).
 * - `ended`: this request ended the session (logout, revocation of itself,
 *   a lost rotation). Never written again by this request; the cookie is
 *   cleared. A rotation that lost to a logout stays lost (L4).
 * - `vanished`: the session was ended elsewhere while this request ran (its
 *   conditional write found nothing). Never written back; no cookie.
 *
 * A store failure (503) changes no cookie, in any state: the tRPC mount
 * and the error boundary drop the response's `Set-Cookie`.
 */
export type SessionState =
  | { readonly kind: 'anonymous' }
  | {
      readonly kind: 'loaded';
      readonly id: string;
      /** May be a frozen record shared with other requests (the opened-record memo). */
      readonly record: Readonly<SessionRecord>;
      /** The cookie was signed, or the record sealed, under an older key: re-sign and re-seal on this request. */
      readonly keyRotated: boolean;
    }
  | { readonly kind: 'started'; readonly id: string; readonly record: Readonly<SessionRecord> }
  | { readonly kind: 'ended' }
  | { readonly kind: 'vanished' };

export const ANONYMOUS: SessionState = Object.freeze({ kind: 'anonymous' });
export const ENDED: SessionState = Object.freeze({ kind: 'ended' });
export const VANISHED: SessionState = Object.freeze({ kind: 'vanished' });

export type LiveState = Extract<SessionState, { kind: 'loaded' | 'started' }>;

/** The session this request may act on, if any. */
export const liveOf = (state: SessionState): LiveState | undefined =>
  state.kind === 'loaded' || state.kind === 'started' ? state : undefined;
