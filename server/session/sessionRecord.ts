import { z } from 'zod';

/** A user as a session holds it: the team's user record (validated by its schema), with at least an id. */
export type StoredUser = { readonly id: string } & Readonly<Record<string, unknown>>;
/** A session's own data (validated by the team's schema). */
export type StoredData = Readonly<Record<string, unknown>>;

/** What the store holds for a session, sealed. Validated on every read. */
export interface SessionRecord {
  readonly v: 2;
  readonly user: StoredUser;
  readonly data: StoredData;
  readonly createdAt: number;
  /** The last request (extended at most once per touch interval). */
  readonly lastSeen: number;
  /** When the user last proved who they are (login, registration, re-authentication, password change). */
  readonly authAt: number;
  readonly ua: string | null;
  /**
   * The user's session generation this session was started (or last kept)
   * under: ending every session of a user moves the generation first, and a
   * rotation that finds it moved gives up (L11). From `GENERATION_ERA` up
   * (`generations.ts`); below it, a session an earlier version (0.2) started.
   */
  readonly gen: number;
  /**
   * How the client carries it: a session answers only on the carrier it was
   * issued for (a bearer session's id sent as a cookie is no session, and the
   * other way round). Rotations keep it.
   */
  readonly carrier: SessionCarrier;
}

/** The kinds of credential a session can be issued for. */
export type SessionCarrier = 'cookie' | 'bearer';

const timestamp = z.number().int().nonnegative();

/** The record's shape, user and data aside (the codec validates those with the team's schemas). */
export const sessionRecordShape = z.object({
  v: z.literal(2),
  user: z.object({ id: z.string().min(1) }).loose(),
  data: z.record(z.string(), z.unknown()),
  createdAt: timestamp,
  lastSeen: timestamp,
  authAt: timestamp,
  ua: z.string().max(512).nullable(),
  gen: z.number().int().nonnegative().default(0),
  carrier: z.enum(['cookie', 'bearer']).default('cookie'),
});

/** Format 1 (before typed users and data): the built-in user's fields, no data, no authAt. Still read. */
export const sessionRecordV1Shape = z.object({
  v: z.literal(1),
  uid: z.string().min(1),
  username: z.string().min(1),
  role: z.string(),
  createdAt: timestamp,
  lastSeen: timestamp,
  ua: z.string().max(512).nullable(),
});
