import type { SessionRecord } from './sessionRecord.js';

/**
 * Where one request's session stands. Every rule of the lifecycle is a
 * statement about these states:
 *
 * - `anonymous`: no session (no credential, a bad or unknown one, an
 *   expired record, a rotation's tombstone). Nothing is written for it.
 * - `loaded`: a live session read from the store. At the end of the
 *   request its idle window may be extended — only by a compare-and-set on
 *   the record as read, re-read and re-applied when another request wrote
 *   meanwhile (a logout elsewhere wins; an update elsewhere stays).
 * - `started`: this request wrote a session under a new id (login,
 *   registration, rotation). The credential carries the new id. Nothing of
 *   an earlier session carries over on start (L1).
 * - `ended`: this request ended the session (logout, revocation of itself,
 *   a lost rotation). Never written again by this request; the credential
 *   is cleared. A rotation that lost to a logout stays lost (L4).
 * - `vanished`: the session was ended (or rotated away) elsewhere while
 *   this request ran. Never written back; the credential is left alone.
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
      /** The stored text the record was read (or last written) as: rewrites compare against it. */
      readonly sealed: string;
      /** The credential was signed, or the record sealed, under an older key: re-sign and re-seal on this request. */
      readonly keyRotated: boolean;
    }
  | { readonly kind: 'started'; readonly id: string; readonly record: Readonly<SessionRecord>; readonly sealed: string }
  | { readonly kind: 'ended' }
  | { readonly kind: 'vanished' };

export const ANONYMOUS: SessionState = Object.freeze({ kind: 'anonymous' });
export const ENDED: SessionState = Object.freeze({ kind: 'ended' });
export const VANISHED: SessionState = Object.freeze({ kind: 'vanished' });

export type LiveState = Extract<SessionState, { kind: 'loaded' | 'started' }>;

/** The session this request may act on, if any. */
export const liveOf = (state: SessionState): LiveState | undefined =>
  state.kind === 'loaded' || state.kind === 'started' ? state : undefined;
