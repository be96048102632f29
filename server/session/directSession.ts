import type { Clock } from '../clock.js';
import { type ActiveSession, DescribedSession, type EndReason, notSignedIn, type SessionHandle } from './requestSession.js';
import { newSessionId, publicIdOf } from './sessionId.js';
import type { SessionRecord, StoredData, StoredUser } from './sessionRecord.js';
import type { SessionStore } from './sessionStore.js';

/**
 * A session handle without HTTP (the testing helper's): the same
 * validation (the team's schemas, the size limits) and the same store
 * code as a request's session, so procedures that start, rotate, update
 * or end sessions behave as they do behind the real middleware.
 */
export class DirectSession implements SessionHandle<StoredUser, StoredData, unknown> {
  readonly #sessions: SessionStore;
  readonly #clock: Clock;
  #live: { id: string; record: SessionRecord } | undefined;

  constructor(sessions: SessionStore, clock: Clock) {
    this.#sessions = sessions;
    this.#clock = clock;
  }

  get current(): ActiveSession | null {
    const live = this.#live;
    return live ? new DescribedSession(live.id, live.record, this.#sessions.expiresAt(live.record)) : null;
  }

  async start(user: StoredUser, data?: unknown): Promise<void> {
    const codec = this.#sessions.codec;
    const record: SessionRecord = {
      v: 2,
      user: codec.user(user),
      data: codec.data(data ?? {}),
      createdAt: this.#clock.now(),
      lastSeen: this.#clock.now(),
      authAt: this.#clock.now(),
      ua: 'test',
    };
    await this.end('logout');
    const id = newSessionId();
    await this.#sessions.create(id, record);
    this.#live = { id, record };
    this.#sessions.emit({ type: 'created', userId: record.user.id, sessionId: publicIdOf(id), at: record.createdAt });
  }

  rotate(): Promise<void> {
    return this.#rotate('rotated');
  }

  refresh(): Promise<void> {
    return this.#rotate('refreshed');
  }

  async update(change: Partial<StoredData> | ((data: StoredData) => unknown)): Promise<StoredData> {
    const live = this.#live;
    if (!live) throw notSignedIn();
    const record = { ...live.record, data: this.#sessions.codec.changedData(live.record.data, change), lastSeen: this.#clock.now() };
    if (!(await this.#sessions.update(live.id, record))) {
      this.#live = undefined;
      throw notSignedIn();
    }
    this.#live = { id: live.id, record };
    return record.data;
  }

  async end(reason: EndReason = 'logout'): Promise<boolean> {
    const live = this.#live;
    this.#live = undefined;
    if (!live) return false;
    await this.#sessions.remove(live.id, live.record.user.id, reason);
    return true;
  }

  async #rotate(kind: 'rotated' | 'refreshed'): Promise<void> {
    const live = this.#live;
    if (!live) throw notSignedIn();
    const now = this.#clock.now();
    const record = { ...live.record, lastSeen: now, authAt: kind === 'refreshed' ? now : live.record.authAt };
    // A rotation whose old session was ended meanwhile must not revive it.
    if (!(await this.#sessions.remove(live.id, record.user.id))) {
      this.#live = undefined;
      throw notSignedIn();
    }
    const id = newSessionId();
    await this.#sessions.create(id, record);
    this.#live = { id, record };
    this.#sessions.emit({ type: kind, userId: record.user.id, sessionId: publicIdOf(id), previousSessionId: publicIdOf(live.id), at: now });
  }
}
