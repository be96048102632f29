import type { User } from '../../shared/user.js';
import type { Frozen } from './frozen.js';
import type { SessionEndReason } from './sessionEvents.js';
import type { SessionCarrier, StoredData, StoredUser } from './sessionRecord.js';

/** The current session as procedures and host routes see it. */
export interface ActiveSession<TUser = StoredUser, TData = StoredData> {
  /** Opaque id, as `sessions.list` shows it (never the cookie, never the store key). */
  readonly publicId: string;
  /** Short, non-reversible tag for logs. */
  readonly logTag: string;
  /** Frozen (deeply read-only): the user as the session started or was last rotated. */
  readonly user: Frozen<TUser>;
  /** Frozen (deeply read-only): change it with `update()`. */
  readonly data: Frozen<TData>;
  readonly createdAt: number;
  readonly lastSeen: number;
  /** When the user last proved who they are (login, re-authentication, password change). */
  readonly authAt: number;
  readonly expiresAt: number;
  readonly userAgent: string | null;
  /** How the client carries it: a browser's cookie, or a bearer token. */
  readonly carrier: SessionCarrier;
}

/** `start`'s data argument: optional when the data schema accepts `{}` (every field optional or defaulted). */
export type StartData<TDataInput> = Record<never, never> extends TDataInput ? [data?: TDataInput] : [data: TDataInput];

/**
 * What `update()` merges into the session's data: any of its fields. A
 * field whose value is `undefined` is left as it is (so a zod
 * `.partial()` output, or `{ pageSize: input.pageSize }`, changes only what
 * the client sent, under either `exactOptionalPropertyTypes`). To reset a
 * field to its default, or clear an optional one, use the function form
 * and leave the field out; a nullable field takes `null`.
 */
export type DataPatch<TData> = { [K in keyof TData]?: TData[K] | undefined };

/** How a procedure or host route may end its session (reported to the session-events hook). */
export type EndReason = Extract<SessionEndReason, 'logout' | 'revoked' | 'conflict'>;

/** The typed session API that procedures and host routes get instead of `ctx.session`. */
export interface SessionHandle<TUser = User, TData = Record<never, never>, TDataInput = TData> {
  readonly current: ActiveSession<TUser, TData> | null;
  /**
   * Starts a fresh session for `user`: a new id, the old session destroyed,
   * nothing carried over (L1); `data` starts from your schema's defaults.
   * The user and the data are validated first (a user that does not match
   * the user schema throws `SessionUserError`; bad data `SessionDataError`).
   */
  start(user: TUser, ...data: StartData<TDataInput>): Promise<void>;
  /**
   * Gives the current session a new id, keeping its data, with the user as
   * your accounts adapter has it now; the old id dies at once. 401 when the
   * session was ended meanwhile, or every session of the user was.
   */
  rotate(): Promise<void>;
  /** The user just proved who they are again (re-authentication, a password change): a new id, and a fresh login for `freshProcedure`. */
  refresh(): Promise<void>;
  /**
   * Changes the session's data: a patch merged into it (its `undefined`
   * fields left as they are), or a function of a copy of it, whose result
   * is the whole new data (a field it leaves out gets its schema default,
   * or is removed if optional). Validated before anything is written
   * (`SessionDataError`, a 400, when it does not match the schema or is
   * too large); written at once, onto the data as it is in the store, only
   * if the session still exists: two updates at once both apply. Resolves
   * the new data.
   *
   * @example
   * await ctx.session.update({ pageSize: input.pageSize });         // absent in the input: pageSize stays as it is
   * await ctx.session.update(({ pageSize: _, ...rest }) => rest);   // pageSize back to its default
   */
  update(change: DataPatch<TData> | ((data: TData) => TDataInput)): Promise<Frozen<TData>>;
  /** Ends the session server-side and clears the cookie. Resolves whether there was one. */
  end(reason?: EndReason): Promise<boolean>;
  /**
   * Ends every other session of this user — every device, however it
   * signed in — and keeps this one. One state change (the user's session
   * generation), so a session being created or rotated at that moment does
   * not escape it. Resolves how many ended.
   */
  endOthers(reason?: EndReason | 'password-change'): Promise<number>;
}
