import { confirmAtEnd } from '../store/confirmAtEnd.js';
import type { Clock } from '../clock.js';
import { errorMessages } from '../../shared/errors.js';
import { TRPCError } from '@trpc/server';
import { notSignedIn, sessionConflict } from './sessionErrors.js';
import type { SessionEndReason } from './sessionEvents.js';
import { newSessionId, publicIdOf, storeKeyOf } from './sessionId.js';
import type { SessionCarrier, SessionRecord, StoredData, StoredUser } from './sessionRecord.js';
import type { DeviceCredential } from './deviceCredentials.js';
import { type Found, type SessionStore, touchIntervalOf } from './sessionStore.js';

/** A live session as a request holds it: its id, its record, and the stored text it was read or written as. */
export interface LiveSession {
  readonly id: string;
  readonly record: Readonly<SessionRecord>;
  readonly sealed: string;
}

/** The user as the accounts adapter has it now; `undefined` when the account is gone or disabled. */
export type UserSource = (userId: string) => Promise<StoredUser | undefined>;

/** How a new session is issued: its client's User-Agent and carrier; for a resumed one, its password time and generation. */
export interface StartIssue {
  readonly ua: string | null;
  readonly carrier: SessionCarrier;
  /** When the user last gave their password (default now): a session resumed from a device credential is not fresh. */
  readonly authAt?: number;
  /** The generation it must belong to (default the current one). */
  readonly generation?: number;
}

/** What presenting a "stay signed in" credential gave. */
export type Resumed =
  /** A new session; `credential`: the new credential to hand over, `undefined` to leave the client's as it is. */
  | { readonly kind: 'resumed'; readonly live: LiveSession; readonly credential: DeviceCredential | undefined; readonly expiresAt: number }
  /** No session: the client should drop its credential (unknown, expired, ended). */
  | { readonly kind: 'none' }
  /** The credential was copied: every session and device credential of its user ended. */
  | { readonly kind: 'replayed' };

/** How often one transition re-reads and tries again while other requests of the session keep writing it. */
const MAX_TRIES = 8;

type Change = Partial<StoredData> | ((data: StoredData) => unknown);

/**
 * The session lifecycle, written once for every way a client carries a
 * session (a cookie, a bearer token, the testing helper): start, rotate,
 * update, extend, end, end all. Each rule is a short protocol of store
 * steps that holds whatever runs at the same time, on one instance or many:
 *
 * - "End every session of this user" moves the user's generation, then
 *   reads the index (`SessionStore.endAllForUser`). A session written
 *   before that read is found and ended; one written after it sees the new
 *   generation when it checks, after its write, and gives itself up. Every
 *   record carries the generation it was started under (L11).
 * - A rotation writes the successor first, then turns the old record into
 *   a tombstone naming it (compare-and-set on the record it read): a logout
 *   that takes the old id before that makes the hand-over fail; one after
 *   it finds the tombstone and ends the successor (L4, L11).
 * - Every rewrite of a live record (idle extension, data update, re-seal,
 *   hand-over) is a compare-and-set on the text it read; when another
 *   request wrote meanwhile it reads again and re-applies only its own
 *   change, so no write undoes another (L12).
 */
export class SessionCore {
  readonly store: SessionStore;
  readonly clock: Clock;
  /** Extending the idle window costs a write at most this often per session. */
  readonly touchIntervalMs: number;
  readonly #userSource: UserSource | undefined;

  constructor(store: SessionStore, clock: Clock, userSource?: UserSource) {
    this.store = store;
    this.clock = clock;
    this.#userSource = userSource;
    this.touchIntervalMs = touchIntervalOf(store.limits.idleMs);
  }

  /** The live session under `id` (idle and absolute timeouts enforced), and whether it should be re-sealed. */
  async resolve(id: string): Promise<(LiveSession & { rotated: boolean }) | undefined> {
    const loaded = await this.store.load(id);
    return loaded && { id, record: loaded.record, sealed: loaded.sealed, rotated: loaded.rotated };
  }

  /**
   * The idle window is due for an extension: at most one write per touch
   * interval, and once at the first use after sign-in (so the cap can tell a
   * session in use from one never used since, whose `lastSeen` is its start).
   */
  touchDue(live: LiveSession): boolean {
    const { lastSeen, createdAt } = live.record;
    const now = this.clock.now();
    return now - lastSeen >= this.touchIntervalMs || (lastSeen === createdAt && now > createdAt);
  }

  /**
   * A brand-new session for `user` (login, registration, a team's own
   * sign-in), after ending `previous`. Its generation is read before it is
   * written and compared after: if every session of the user was ended in
   * between, the new one was being created before that answered, so it is
   * given up (409: sign in again), as L11 asks.
   */
  async start(user: StoredUser, data: StoredData, issue: StartIssue, previous?: LiveSession): Promise<LiveSession> {
    if (previous) await this.end(previous, 'logout');
    // A session resumed from a device credential belongs to the credential's generation, not to whatever is current.
    const gen = issue.generation ?? (await this.store.generationOf(user.id));
    const now = this.clock.now();
    const record: SessionRecord = { v: 2, user, data, createdAt: now, lastSeen: now, authAt: issue.authAt ?? now, ua: issue.ua, gen, carrier: issue.carrier };
    const id = newSessionId();
    const sealed = await this.store.create(id, record);
    if ((await this.store.generationOf(user.id, gen)) !== gen) {
      await this.store.remove(id, user.id);
      throw new TRPCError({ code: 'CONFLICT', message: errorMessages.accountChanged });
    }
    await this.store.enforceCap(user.id, publicIdOf(id));
    this.store.emit({ type: 'created', userId: user.id, sessionId: publicIdOf(id), at: now });
    return { id, record, sealed };
  }

  /**
   * A new id for `live`, continuing its record as it is in the store now
   * (data another request wrote a moment ago included), with the account's
   * user as it is now. The old id dies at once. 401 when the session was
   * ended meanwhile (a logout, a revocation, another rotation of it, an
   * end-all: the generation moved), or the account is gone or disabled.
   */
  async rotate(live: LiveSession, kind: 'rotated' | 'refreshed'): Promise<LiveSession> {
    const user = await this.#currentUser(live);
    const now = this.clock.now();
    const id = newSessionId();
    let base: LiveSession = live;
    let next: LiveSession | undefined;
    for (let attempt = 0; attempt < MAX_TRIES && !next; attempt += 1) {
      const record: SessionRecord = { ...base.record, user, lastSeen: now, authAt: kind === 'refreshed' ? now : base.record.authAt };
      const sealed = await this.store.create(id, record);
      if (await this.store.retire(live.id, base.sealed, id, record)) {
        next = { id, record, sealed };
        break;
      }
      const found = await this.store.findAt(storeKeyOf(live.id));
      if (found?.kind !== 'record') break;
      base = { id: live.id, record: found.record, sealed: found.sealed };
    }
    if (!next) {
      await this.store.remove(id, user.id);
      throw notSignedIn();
    }
    await this.store.unindex(user.id, live.id);
    // In the record's own era: a session an earlier version started answers to that version's counter (`Generations`).
    if ((await this.store.generationOf(user.id, next.record.gen)) !== next.record.gen) {
      // Every session of the user was ended while this one was being handed over: the successor goes too.
      await this.store.remove(id, user.id);
      throw notSignedIn();
    }
    this.store.emit({ type: kind, userId: user.id, sessionId: publicIdOf(id), previousSessionId: publicIdOf(live.id), at: now });
    return next;
  }

  /**
   * Applies `change` to the session's data as the store holds it now, and
   * writes it. Resolves the new data, and the session as now stored —
   * `undefined` when a rotation by another request moved the session to a
   * new id meanwhile (the change went there; this request's id is over).
   * 401 when the session ended; 409 when it kept changing under every try.
   */
  async update(live: LiveSession, change: Change): Promise<{ data: StoredData; live: LiveSession | undefined }> {
    let key = storeKeyOf(live.id);
    let publicId = publicIdOf(live.id);
    let base: { record: SessionRecord; sealed: string } = live;
    let moved = false;
    for (let attempt = 0; attempt < MAX_TRIES; attempt += 1) {
      const data = this.store.codec.changedData(base.record.data, change);
      const record: SessionRecord = { ...base.record, data, lastSeen: Math.max(base.record.lastSeen, this.clock.now()) };
      // The write extends the idle window too: the index entry first, as for a touch.
      const indexed = await this.store.keepIndexed(publicId, key, base.record);
      const sealed = await this.store.rewriteAt(key, base.sealed, record);
      if (sealed !== undefined) return { data, live: moved ? undefined : { id: live.id, record, sealed } };
      const found = await this.#follow(key, publicId);
      if (!found) {
        if (indexed) await this.store.unindexPublicId(base.record.user.id, publicId);
        throw notSignedIn();
      }
      moved ||= found.key !== key;
      ({ key, publicId } = found);
      base = found;
    }
    throw sessionConflict();
  }

  /**
   * Extends the idle window (and re-seals under the first key). Writes only
   * `lastSeen` onto the record as the store holds it now. `undefined` when
   * the session is over (ended, or rotated away by another request).
   */
  async touch(live: LiveSession): Promise<LiveSession | undefined> {
    const key = storeKeyOf(live.id);
    // The index entry first: the record must never outlive it, or an end-all would miss the session.
    const indexed = await this.store.keepIndexed(publicIdOf(live.id), key, live.record);
    let base: LiveSession = live;
    for (let attempt = 0; attempt < MAX_TRIES; attempt += 1) {
      const record: SessionRecord = { ...base.record, lastSeen: Math.max(base.record.lastSeen, this.clock.now()) };
      const sealed = await this.store.rewriteAt(key, base.sealed, record);
      if (sealed !== undefined) return { id: live.id, record, sealed };
      const found = await this.store.findAt(key);
      if (found?.kind !== 'record') {
        // Ended or rotated away meanwhile: this id is over for good, and an entry written above goes with it.
        if (indexed) await this.store.unindex(live.record.user.id, live.id);
        return undefined;
      }
      base = { id: live.id, record: found.record, sealed: found.sealed };
    }
    // Others wrote it every time (and each of their writes extended it too): leave it as they wrote it.
    return base;
  }

  /** Ends a session (and, through its tombstone, what it was rotated into); resolves whether a live one ended. */
  end(live: LiveSession, reason?: SessionEndReason): Promise<boolean> {
    return this.store.remove(live.id, live.record.user.id, reason);
  }

  /** Ends whatever a request's credential names, a live session or a rotation's tombstone (a logout with an id rotated away). */
  endById(id: string, reason?: SessionEndReason): Promise<boolean> {
    return this.store.remove(id, undefined, reason);
  }

  /**
   * Ends every other session of the user and keeps `live`, which from now
   * on carries the new generation. Resolves how many ended, and the kept
   * session as now stored (`undefined` if it ended meanwhile).
   */
  endOthers(live: LiveSession, reason: SessionEndReason): Promise<{ ended: number; live: LiveSession | undefined }> {
    // The generation moved on the master even when unconfirmed: the kept session must carry it, or it ends too.
    return confirmAtEnd(async (step) => {
      const { ended, generation } = await step(this.store.endAllForUser(live.record.user.id, publicIdOf(live.id), reason));
      const key = storeKeyOf(live.id);
      let base: LiveSession = live;
      for (let attempt = 0; attempt < MAX_TRIES; attempt += 1) {
        const record: SessionRecord = { ...base.record, gen: Math.max(base.record.gen, generation) };
        const sealed = await this.store.rewriteAt(key, base.sealed, record);
        if (sealed !== undefined) return { ended, live: { id: live.id, record, sealed } };
        const found = await step(this.store.findAt(key));
        if (found?.kind !== 'record') return { ended, live: undefined };
        base = { id: live.id, record: found.record, sealed: found.sealed };
      }
      throw sessionConflict();
    });
  }

  /**
   * A new session from a "stay signed in" credential, for a request with
   * no live session (`DeviceCredentials` says what presenting it means).
   * The session is not fresh (its `authAt` is the password's time), carries
   * the user as the accounts have it now, and belongs to the credential's
   * generation, so an end-all that raced it ends it too.
   */
  async resume(credential: DeviceCredential, issue: { ua: string | null; carrier: SessionCarrier }): Promise<Resumed> {
    const devices = this.store.devices;
    if (!devices || !this.#userSource) return { kind: 'none' };
    let live: LiveSession | undefined;
    try {
      for (let attempt = 0; attempt < MAX_TRIES; attempt += 1) {
        const verdict = await devices.judge(
          credential,
          (userId, like) => this.store.generationOf(userId, like),
          (key) => this.store.usedSinceStart(key),
        );
        if (verdict.kind === 'none' || verdict.kind === 'replayed') {
          if (live) await this.end(live);
          if (verdict.kind === 'none') return verdict;
          await this.#replayed(verdict.series.userId, verdict.series.publicId);
          return { kind: 'replayed' };
        }
        const { series } = verdict;
        if (!live) {
          const user = await this.#userSource(series.userId);
          if (user === undefined) {
            await devices.forget(credential);
            return { kind: 'none' };
          }
          try {
            live = await this.start(this.store.codec.user(user), this.store.codec.data({}), { ...issue, authAt: series.authAt, generation: series.gen });
          } catch (error) {
            // Every session of the user ended while this one was being started: so did the credential.
            if ((error as { code?: unknown }).code === 'CONFLICT') return { kind: 'none' };
            throw error;
          }
        }
        if (verdict.kind === 'accept') return { kind: 'resumed', live, credential: undefined, expiresAt: series.expiresAt };
        const next = await devices.rotate(credential, verdict, storeKeyOf(live.id));
        if (next) return { kind: 'resumed', live, credential: next, expiresAt: series.expiresAt };
        // Another request of the same browser rotated it first: judge again (most likely an accept now).
      }
    } catch (error) {
      // A session started for this resume and never handed out (the rotation failed, or was made but not
      // confirmed by the replicas) must not stay behind: indexed, listed and counted against the cap.
      if (live) await this.end(live).catch(() => undefined);
      throw error;
    }
    if (live) await this.end(live);
    throw sessionConflict();
  }

  /** A new "stay signed in" credential for `live`'s user on this device (a login that asked for it). */
  async rememberDevice(live: LiveSession): Promise<{ credential: DeviceCredential; expiresAt: number } | undefined> {
    const devices = this.store.devices;
    if (!devices) return undefined;
    const { record } = live;
    const credential = await devices.issue(record.user.id, { authAt: record.authAt, ua: record.ua, carrier: record.carrier, gen: record.gen, startedKey: storeKeyOf(live.id) });
    return { credential, expiresAt: this.clock.now() + devices.lifetimeMs };
  }

  /** A copied device credential: every session and device credential of the user ends, and the team hears of it. */
  #replayed(userId: string, devicePublicId: string): Promise<void> {
    // Reported even when the end-all is unconfirmed: it did end them.
    return confirmAtEnd(async (step) => {
      await step(this.store.endAllForUser(userId, undefined, 'credential-replayed'));
      this.store.emit({ type: 'device-credential-replayed', userId, sessionId: devicePublicId, at: this.clock.now() });
    });
  }

  /** Ends every session of the user; resolves how many live ones ended. */
  endAll(userId: string, reason: SessionEndReason): Promise<number> {
    // A flow too, so that an unconfirmed end-all's error carries the count, not the end-all's own result.
    return confirmAtEnd(async (step) => (await step(this.store.endAllForUser(userId, undefined, reason))).ended);
  }

  /** The live record at `key`, or the one its tombstones lead to, with the key it is under. */
  async #follow(key: string, publicId: string): Promise<{ key: string; publicId: string; record: SessionRecord; sealed: string } | undefined> {
    let found: Found | undefined = await this.store.findAt(key);
    for (let hop = 0; found && hop < MAX_TRIES; hop += 1) {
      if (found.kind === 'record') return { key, publicId, record: found.record, sealed: found.sealed };
      key = found.tombstone.next;
      publicId = found.tombstone.nextPublicId;
      found = await this.store.findAt(key);
    }
    return undefined;
  }

  /** The session's user as the account is now (when Gatehouse knows the accounts); a gone or disabled account ends the session. */
  async #currentUser(live: LiveSession): Promise<StoredUser> {
    if (!this.#userSource) return live.record.user;
    const user = await this.#userSource(live.record.user.id);
    if (user === undefined) {
      await this.end(live, 'conflict');
      throw notSignedIn();
    }
    return this.store.codec.user(user);
  }
}
