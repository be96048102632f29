import { z } from 'zod';
import { userSchema } from './user.js';

/**
 * A session as the API shows it. `id` is an opaque handle (derived from, but
 * never equal to, the cookie value or the store key). Dates are ISO strings.
 */
export const sessionViewSchema = z.object({
  id: z.string(),
  createdAt: z.iso.datetime(),
  lastSeenAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  /** When the user last proved who they are in this session (login, re-authentication, password change). */
  authenticatedAt: z.iso.datetime(),
  /** The raw User-Agent the session started with. */
  userAgent: z.string().nullable(),
  /** A short name for it people recognise ("Chrome on Linux", "notes-cli"): plain text, escape it where you show it. */
  device: z.string().nullable(),
  /** How the client carries it: a browser's cookie, or a native app's or CLI's bearer token. */
  carrier: z.enum(['cookie', 'bearer']),
  /**
   * `session`: a session; `remembered`: a device that stays signed in (its
   * credential starts a new session when the session has timed out). Both
   * end with `sessions.revoke({ id })`.
   */
  kind: z.enum(['session', 'remembered']),
  current: z.boolean(),
});
export type SessionView = z.infer<typeof sessionViewSchema>;

export const meSchema = z
  .object({
    user: userSchema,
    session: sessionViewSchema,
  })
  .nullable();
export type Me = z.infer<typeof meSchema>;

export const dataSchema = z.object({
  message: z.string(),
  user: userSchema,
});
export type Data = z.infer<typeof dataSchema>;

export const authResultSchema = z.object({ user: userSchema });
export type AuthResult = z.infer<typeof authResultSchema>;

export const logoutResultSchema = z.object({ loggedOut: z.boolean() });
export type LogoutResult = z.infer<typeof logoutResultSchema>;

export const reauthenticateSchema = z.object({ password: z.string({ error: 'password must be a string' }).min(1).max(128) });
export type ReauthenticateInput = z.input<typeof reauthenticateSchema>;

/** `token`: a bearer client's new session token (a browser's comes as a cookie). */
export const reauthenticatedSchema = z.object({ authenticatedAt: z.iso.datetime(), token: z.string().optional() });

export const endedSessionsSchema = z.object({ endedSessions: z.number().int().nonnegative() });
export type EndedSessions = z.infer<typeof endedSessionsSchema>;
