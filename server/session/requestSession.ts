import { TRPCError } from '@trpc/server';
import type Koa from 'koa';
import { errorMessages } from '../../shared/errors.js';
import type { User } from '../../shared/user.js';
import type { Clock } from '../clock.js';
import type { SessionCodec } from './sessionCodec.js';
import type { SessionEndReason, SessionEventSink } from './sessionEvents.js';
import { publicIdOf } from './sessionId.js';
import type { SessionRecord, StoredData, StoredUser } from './sessionRecord.js';
import { ANONYMOUS, ENDED, type LiveState, liveOf, type SessionState, VANISHED } from './sessionState.js';

/** The current session as procedures and host routes see it. */
export interface ActiveSession<TUser = StoredUser, TData = StoredData> {
  /** Opaque id, as `sessions.list` shows it (never the cookie, never the store key). */
  readonly publicId: string;
  /** Short, non-reversible tag for logs. */
  readonly logTag: string;
  readonly user: TUser;
  readonly data: TData;
  readonly createdAt: number;
  readonly lastSeen: number;
  /** When the user last proved who they are (login, re-authentication, password change). */
  readonly authAt: number;
  readonly expiresAt: number;
  readonly userAgent: string | null;
}

/** `start`'s data argument: optional when the data schema accepts `{}` (every field optional or defaulted). */
export type StartData<TDataInput> = Record<never, never> extends TDataInput ? [data?: TDataInput] : [data: TDataInput];

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
  /** Gives the current session a new id, keeping its user and data; the old id dies. */
  rotate(): Promise<void>;
  /** The user just proved who they are again (re-authentication, a password change): a new id, and a fresh login for `freshProcedure`. */
  refresh(): Promise<void>;
  /**
   * Changes the session's data: a patch merged into it, or a function of
   * it. Validated before anything is written (`SessionDataError`, a 400,
   * when it does not match the schema or is too large); written at once,
   * only if the session still exists. Resolves the new data.
   */
  update(change: Partial<TData> | ((data: TData) => TDataInput)): Promise<TData>;
  /** Ends the session server-side and clears the cookie. Resolves whether there was one. */
  end(reason?: EndReason): Promise<boolean>;
}

/** koa-session's session object, on Gatehouse's own context (never the host's `ctx.session`). */
export interface KoaSessionLike extends Record<string, unknown> {
  toJSON(): Record<string, unknown>;
  regenerate(): Promise<void>;
  save(): Promise<void>;
  manuallyCommit(): Promise<void>;
}

/** What a request's session needs from its layer. */
export interface RequestSessionLayer {
  readonly clock: Clock;
  readonly touchIntervalMs: number;
  readonly codec: SessionCodec;
  readonly emit: SessionEventSink;
  /** Send `Clear-Site-Data: "cookies"` when this request ends its session. */
  readonly clearSiteData: boolean;
  expiresAt(record: SessionRecord): number;
}

/**
 * The koa-session commit this request is running: koa-session calls the
 * store adapter back without saying why, so the transition in progress
 * says it. `create` writes a new id (start, rotate, refresh); `update`
 * rewrites the live one (touch, data); `end` destroys `live`. A rotation
 * learns whether the old record was still there when it was destroyed.
 */
export type Commit =
  /** `base`: a rotation's live record, which the written one continues (a start writes a whole new record). */
  | { kind: 'create'; rotation: boolean; base?: SessionRecord; oldRemoved?: boolean }
  /** `base`: the live record being rewritten with the fields this transition changed. */
  | { kind: 'update'; base: SessionRecord }
  /** Ending `live`: the state already says `ended` (for the rest of a batch) while the store write runs. */
  | { kind: 'end'; live: LiveState | undefined; reason: EndReason };

const LOG_TAG_LENGTH = 10;
export const logTagOf = (publicId: string) => publicId.slice(0, LOG_TAG_LENGTH);

/** 401; `status`/`expose` let Koa's own error handler answer it as one when it is thrown in one of your routes. */
export const notSignedIn = () => Object.assign(new TRPCError({ code: 'UNAUTHORIZED', message: errorMessages.unauthorized }), { status: 401, expose: true });

/**
 * One request's session: its state (see `SessionState` for the rules),
 * and the transitions procedures and host routes ask for. The only code
 * that touches koa-session's session object, which lives on Gatehouse's
 * own context, so a host's koa-session never sees Gatehouse's state.
 */
export class RequestSession implements SessionHandle<StoredUser, StoredData, unknown> {
  state: SessionState = ANONYMOUS;
  /** The commit in progress, read by the store adapter (sessionLayer.ts). */
  commit: Commit | undefined;
  /** The cookie was signed under an older key (set while loading, before the record is read). */
  cookieKeyRotated = false;
  readonly #ctx: Koa.Context;
  readonly #layer: RequestSessionLayer;
  readonly #koa: { session: KoaSessionLike | null };
  /** Why this request may not carry a session cookie (plain HTTP with Secure cookies), if it may not. */
  readonly #refusal: TRPCError | undefined;
  /** The last `current` built, reused while the state it describes is unchanged. */
  #described: { state: LiveState; active: ActiveSession } | undefined;
  /** The transition running now: a tRPC batch runs its calls at once, and their transitions go one at a time. */
  #transitions: Promise<unknown> = Promise.resolve();

  constructor(ctx: Koa.Context, layer: RequestSessionLayer, koa: { session: KoaSessionLike | null }, refusal?: TRPCError) {
    this.#ctx = ctx;
    this.#layer = layer;
    this.#koa = koa;
    this.#refusal = refusal;
  }

  get current(): ActiveSession | null {
    const live = liveOf(this.state);
    if (!live) return null;
    // Every request reads `current` (the tRPC context does); describing costs a SHA-256 for the public id.
    if (this.#described?.state === live) return this.#described.active;
    const active = new DescribedSession(live.id, live.record, this.#layer.expiresAt(live.record));
    this.#described = { state: live, active };
    return active;
  }

  start(user: StoredUser, data?: unknown): Promise<void> {
    if (this.#refusal) return Promise.reject(this.#refusal);
    return this.#oneAtATime(() => this.#start(user, data));
  }

  async #start(user: StoredUser, data: unknown): Promise<void> {
    const codec = this.#layer.codec;
    // Validated before anything is written; nothing of an earlier (or anonymous) session carries over (L1).
    const record: SessionRecord = this.#fresh(codec.user(user), codec.data(data ?? {}));
    const session = this.#sessionForWriting();
    for (const key of Object.keys(session.toJSON())) Reflect.deleteProperty(session, key);
    Object.assign(session, record);
    // Trap: `ctx.session = {}` keeps the id; regenerate() destroys the old one (reported as ended) and issues a new one.
    await this.#run({ kind: 'create', rotation: false }, () => session.regenerate());
    const started = liveOf(this.state);
    if (started) this.#layer.emit({ type: 'created', userId: started.record.user.id, sessionId: publicIdOf(started.id), at: started.record.createdAt });
  }

  rotate(): Promise<void> {
    return this.#rotate('rotated');
  }

  refresh(): Promise<void> {
    return this.#rotate('refreshed');
  }

  update(change: Partial<StoredData> | ((data: StoredData) => unknown)): Promise<StoredData> {
    return this.#oneAtATime(() => this.#update(change));
  }

  async #update(change: Partial<StoredData> | ((data: StoredData) => unknown)): Promise<StoredData> {
    const live = liveOf(this.state);
    const session = this.#koa.session;
    if (!live || !session) throw notSignedIn();
    const data = this.#layer.codec.changedData(live.record.data, change);
    session['data'] = data;
    session['lastSeen'] = this.#layer.clock.now();
    await this.#run({ kind: 'update', base: live.record }, () => session.save());
    // Ended elsewhere while this request ran: the write found nothing, and nothing was revived.
    if (!liveOf(this.state)) throw notSignedIn();
    return data;
  }

  end(reason: EndReason = 'logout'): Promise<boolean> {
    const liveAtCall = liveOf(this.state);
    // Ended for every other call of this request (a batch) from now on, even while the store write runs.
    this.state = ENDED;
    return this.#oneAtATime(() => this.#end(reason, liveAtCall));
  }

  async #end(reason: EndReason, liveAtCall: LiveState | undefined): Promise<boolean> {
    // A transition that was already running when end() was called may have left a newer live session.
    const live = liveOf(this.state) ?? liveAtCall;
    this.state = ENDED;
    const session = this.#koa.session;
    if (!session) return live !== undefined;
    // koa-session: with the session set to null, commit() destroys it in the store and clears the cookie.
    this.#koa.session = null;
    await this.#run({ kind: 'end', live, reason }, () => session.manuallyCommit());
    if (this.#layer.clearSiteData) this.#ctx.set('Clear-Site-Data', '"cookies"');
    return live !== undefined;
  }

  /** After the handlers ran: extend the idle window, or rewrite under the first key and the current format, if due. */
  finish(): Promise<void> {
    return this.#oneAtATime(() => this.#finish());
  }

  async #finish(): Promise<void> {
    const state = this.state;
    if (state.kind !== 'loaded' || !this.#koa.session) return;
    const now = this.#layer.clock.now();
    const due = now - state.record.lastSeen >= this.#layer.touchIntervalMs;
    if (!due && !state.keyRotated) return;
    const session = this.#koa.session;
    session['lastSeen'] = now;
    await this.#run({ kind: 'update', base: state.record }, () => session.save());
  }

  /** The session store adapter reports a successful `create`. */
  started(id: string, record: SessionRecord): void {
    this.state = Object.freeze({ kind: 'started', id, record });
  }

  /** The session store adapter reports an `update` and whether the record was still there. */
  updated(record: SessionRecord, stillThere: boolean): void {
    const state = this.state;
    if (!stillThere) this.state = VANISHED;
    else if (state.kind === 'loaded') this.state = Object.freeze({ ...state, record, keyRotated: false });
    else if (state.kind === 'started') this.state = Object.freeze({ ...state, record });
  }

  /** A rotation whose old session was ended meanwhile (logout, revocation): it must not revive it. */
  rotationLost(): void {
    this.state = ENDED;
  }

  #rotate(kind: 'rotated' | 'refreshed'): Promise<void> {
    if (this.#refusal) return Promise.reject(this.#refusal);
    return this.#oneAtATime(() => this.#rotateNow(kind));
  }

  async #rotateNow(kind: 'rotated' | 'refreshed'): Promise<void> {
    const previous = liveOf(this.state);
    const session = this.#koa.session;
    if (!previous || !session) throw notSignedIn();
    const now = this.#layer.clock.now();
    session['lastSeen'] = now;
    // A re-authentication (or a password change, which checks the current password) is a fresh login.
    if (kind === 'refreshed') session['authAt'] = now;
    await this.#run({ kind: 'create', rotation: true, base: previous.record }, () => session.regenerate());
    const current = liveOf(this.state);
    if (current) {
      this.#layer.emit({ type: kind, userId: current.record.user.id, sessionId: publicIdOf(current.id), previousSessionId: publicIdOf(previous.id), at: now });
    }
  }

  #fresh(user: StoredUser, data: StoredData): SessionRecord {
    const now = this.#layer.clock.now();
    return { v: 2, user, data, createdAt: now, lastSeen: now, authAt: now, ua: this.#ctx.get('user-agent').slice(0, 512) || null };
  }

  /** Runs `transition` once every transition this request asked for before it has settled. */
  #oneAtATime<T>(transition: () => Promise<T>): Promise<T> {
    const result = this.#transitions.then(transition);
    this.#transitions = result.catch(() => undefined);
    return result;
  }

  async #run(commit: Commit, run: () => Promise<void>): Promise<void> {
    this.commit = commit;
    try {
      await run();
    } finally {
      this.commit = undefined;
    }
  }

  /** koa-session's session object, made anew after an `end()` in the same request (a batch: logout, then login). */
  #sessionForWriting(): KoaSessionLike {
    if (!this.#koa.session) (this.#koa as { session: unknown }).session = {};
    return this.#koa.session!;
  }
}

/** `current`: the public id (a SHA-256) is worked out only if a procedure asks for it. */
export class DescribedSession implements ActiveSession {
  /** Private: the raw id must never show up when a procedure logs or returns `current`. */
  readonly #id: string;
  readonly #record: SessionRecord;
  #publicId: string | undefined;

  constructor(
    id: string,
    record: SessionRecord,
    readonly expiresAt: number,
  ) {
    this.#id = id;
    this.#record = record;
  }

  get publicId(): string {
    this.#publicId ??= publicIdOf(this.#id);
    return this.#publicId;
  }

  get logTag(): string {
    return logTagOf(this.publicId);
  }

  get user(): StoredUser {
    return this.#record.user;
  }

  get data(): StoredData {
    return this.#record.data;
  }

  get createdAt(): number {
    return this.#record.createdAt;
  }

  get lastSeen(): number {
    return this.#record.lastSeen;
  }

  get authAt(): number {
    return this.#record.authAt;
  }

  get userAgent(): string | null {
    return this.#record.ua;
  }

  /** What logging or returning `current` shows: never the raw id. */
  toJSON() {
    return { publicId: this.publicId, user: this.user, data: this.data, createdAt: this.createdAt, lastSeen: this.lastSeen, authAt: this.authAt, expiresAt: this.expiresAt };
  }
}
