import { TRPCError } from '@trpc/server';
import type Koa from 'koa';
import { errorMessages } from '../../shared/errors.js';
import type { Role } from '../../shared/user.js';
import type { Clock } from '../clock.js';
import { publicIdOf } from './sessionId.js';
import type { SessionRecord } from './sessionRecord.js';
import { ANONYMOUS, ENDED, type LiveState, liveOf, type SessionState, VANISHED } from './sessionState.js';

/** The current session as procedures see it. */
export interface ActiveSession {
  readonly publicId: string;
  /** Short, non-reversible tag for logs. */
  readonly logTag: string;
  readonly record: Readonly<SessionRecord>;
  readonly expiresAt: number;
}

export interface SessionUser {
  id: string;
  username: string;
  role: Role;
}

/** The typed session API that procedures and host routes get instead of `ctx.session`. */
export interface SessionHandle {
  readonly current: ActiveSession | null;
  /** Starts a fresh session for `user`: new id, the old session destroyed, nothing carried over. */
  start(user: SessionUser): Promise<void>;
  /** Gives the current session a new id (password change); the old id dies. */
  rotate(): Promise<void>;
  /** Ends the session server-side and clears the cookie. Resolves whether there was one. */
  end(): Promise<boolean>;
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
  expiresAt(record: SessionRecord): number;
}

/**
 * The koa-session commit this request is running: koa-session calls the
 * store adapter back without saying why, so the transition in progress
 * says it. `create` writes a new id (start, rotate); `update` extends or
 * re-seals the loaded one. A rotation learns whether the old record was
 * still there when it was destroyed.
 */
export type Commit =
  | { kind: 'create'; rotation: boolean; oldRemoved?: boolean }
  | { kind: 'update' }
  /** Ending `live`: the state already says `ended` (for the rest of a batch) while the store write runs. */
  | { kind: 'end'; live: LiveState | undefined };

const LOG_TAG_LENGTH = 10;
export const logTagOf = (publicId: string) => publicId.slice(0, LOG_TAG_LENGTH);

export const notSignedIn = () => new TRPCError({ code: 'UNAUTHORIZED', message: errorMessages.unauthorized });

/**
 * One request's session: its state (see `SessionState` for the rules),
 * and the transitions procedures and host routes ask for. The only code
 * that touches koa-session's session object, which lives on Gatehouse's
 * own context, so a host's koa-session never sees Gatehouse's state.
 */
export class RequestSession implements SessionHandle {
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

  async start(user: SessionUser): Promise<void> {
    if (this.#refusal) throw this.#refusal;
    const session = this.#sessionForWriting();
    // Nothing of an earlier (or anonymous) session carries over (L1).
    for (const key of Object.keys(session.toJSON())) Reflect.deleteProperty(session, key);
    const now = this.#layer.clock.now();
    const record: SessionRecord = {
      v: 1,
      uid: user.id,
      username: user.username,
      role: user.role,
      createdAt: now,
      lastSeen: now,
      ua: this.#ctx.get('user-agent').slice(0, 512) || null,
    };
    Object.assign(session, record);
    // Trap: `ctx.session = {}` keeps the id; regenerate() destroys the old one and issues a new one.
    await this.#run({ kind: 'create', rotation: false }, () => session.regenerate());
  }

  async rotate(): Promise<void> {
    if (!liveOf(this.state) || !this.#koa.session) throw notSignedIn();
    const session = this.#koa.session;
    session['lastSeen'] = this.#layer.clock.now();
    const commit: Commit = { kind: 'create', rotation: true };
    await this.#run(commit, () => session.regenerate());
  }

  async end(): Promise<boolean> {
    const live = liveOf(this.state);
    const session = this.#koa.session;
    // Ended for every other call of this request (a batch) from now on, even while the store write runs.
    this.state = ENDED;
    if (!session) return live !== undefined;
    // koa-session: with the session set to null, commit() destroys it in the store and clears the cookie.
    this.#koa.session = null;
    await this.#run({ kind: 'end', live }, () => session.manuallyCommit());
    this.#ctx.set('Clear-Site-Data', '"cookies"');
    return live !== undefined;
  }

  /** After the handlers ran: extend the idle window or re-sign and re-seal under the first key, if due. */
  async finish(): Promise<void> {
    const state = this.state;
    if (state.kind !== 'loaded' || !this.#koa.session) return;
    const now = this.#layer.clock.now();
    const due = now - state.record.lastSeen >= this.#layer.touchIntervalMs;
    if (!due && !state.keyRotated) return;
    const session = this.#koa.session;
    session['lastSeen'] = now;
    await this.#run({ kind: 'update' }, () => session.save());
  }

  /** The session store adapter reports a successful `create`. */
  started(id: string, record: SessionRecord): void {
    this.state = Object.freeze({ kind: 'started', id, record });
  }

  /** The session store adapter reports an `update` and whether the record was still there. */
  updated(record: SessionRecord, stillThere: boolean): void {
    const state = this.state;
    this.state = stillThere && state.kind === 'loaded' ? Object.freeze({ ...state, record, keyRotated: false }) : VANISHED;
  }

  /** A rotation whose old session was ended meanwhile (logout, revocation): it must not revive it. */
  rotationLost(): void {
    this.state = ENDED;
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
class DescribedSession implements ActiveSession {
  /** Private: the raw id must never show up when a procedure logs or returns `current`. */
  readonly #id: string;
  #publicId: string | undefined;

  constructor(
    id: string,
    readonly record: SessionRecord,
    readonly expiresAt: number,
  ) {
    this.#id = id;
  }

  get publicId(): string {
    this.#publicId ??= publicIdOf(this.#id);
    return this.#publicId;
  }

  get logTag(): string {
    return logTagOf(this.publicId);
  }
}
