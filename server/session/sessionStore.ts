import type { Clock } from '../clock.js';
import { confirmAtEnd } from '../store/confirmAtEnd.js';
import { DURABLE, type KeyValueStore } from '../store/keyValueStore.js';
import type { StoreSecretSource } from '../store/storeSecret.js';
import { Generations } from './generations.js';
import { OpenedRecords } from './openedRecords.js';
import type { Sealer } from './sealer.js';
import type { SessionCodec } from './sessionCodec.js';
import type { SessionEndReason, SessionEventSink } from './sessionEvents.js';
import { publicIdOf, storeKeyOf } from './sessionId.js';
import type { SessionRecord } from './sessionRecord.js';
import type { DeviceCredentials } from './deviceCredentials.js';
import { decodeTombstone, encodeTombstone, type Tombstone } from './tombstone.js';
import { UserIndex } from './userIndex.js';

export interface SessionTimeouts {
  readonly idleMs: number;
  readonly absoluteMs: number;
}

export interface SessionLimits extends SessionTimeouts {
  /** Live sessions one user may hold; a new one beyond it ends the least recently used (ASVS 7.1.2). */
  readonly maxPerUser: number;
}

export interface LoadedRecord {
  record: Readonly<SessionRecord>;
  /** Sealed under an older key, or in an older format: rewrite on this request. */
  rotated: boolean;
  /** The stored text it was read from: a rewrite swaps exactly this (compare-and-set), so it never undoes another's write. */
  sealed: string;
}

/** What a session's store key holds: a live record, or a rotation's tombstone naming the successor. */
export type Found = ({ kind: 'record' } & LoadedRecord) | { kind: 'tombstone'; tombstone: Tombstone };

export interface ListedSession {
  publicId: string;
  record: Readonly<SessionRecord>;
}

/**
 * How often a session's idle window is extended at most (one store write per
 * interval): a minute, or a tenth of a short idle timeout. `lastSeen` is
 * known to this resolution.
 */
export const touchIntervalOf = (idleMs: number) => Math.min(60_000, Math.max(1_000, Math.floor(idleMs / 10)));

/**
 * When a session was last used, as well as the store can tell: a session
 * used since its sign-in may have been used up to one touch interval after
 * the `lastSeen` it records; one never used since is exactly as old as its
 * `lastSeen`. The cap ends the lowest first, so an idle session goes before
 * one in use.
 */
const lastUseOf = (record: SessionRecord, touchIntervalMs: number) => (record.lastSeen > record.createdAt ? record.lastSeen + touchIntervalMs : record.lastSeen);

/** The store outlives the server's own expiry check by this much, so the server always decides. */
const STORE_TTL_SLACK_MS = 5_000;
/** Sessions whose index entry this process remembers writing (`keepIndexed`): past it, an entry is written once more. */
const INDEXED_MEMO_SIZE = 4_096;
/** Tombstones followed from one logout at most: a chain of rotations within one tombstone's life. */
const MAX_FOLLOW = 16;

/**
 * Sessions in the store: sealed records under hashed keys, a per-user index
 * of live sessions (for listing and revocation), a per-user generation
 * (moved by every "end all sessions of this user"), and the tombstones a
 * rotation leaves. The index and the generation are keyed through the
 * store secret (`si:`, `sg:`; `UserIndex`, `Generations`), so no key shows a
 * user id; reading a session by its id needs neither, so it stays one round
 * trip that never waits for the secret. Every "not a live session" outcome
 * (missing, expired, malformed, foreign key) is a value (`undefined`), and
 * malformed or expired entries are removed. The lifecycle rules built on these steps
 * live in `SessionCore`.
 */
export class SessionStore {
  readonly #kv: KeyValueStore;
  readonly #sealer: Sealer;
  readonly #clock: Clock;
  readonly #limits: SessionLimits;
  readonly #codec: SessionCodec;
  readonly #emit: SessionEventSink;
  /** Public id → store key of each user's live sessions. */
  readonly #index: UserIndex;
  /** Store key → when this process last wrote that session's index entry (`keepIndexed`). */
  readonly #indexedAt = new Map<string, number>();
  readonly #generations: Generations;
  /** Reads of an unchanged record skip AES-GCM and validation (issue 5). */
  readonly #opened = new OpenedRecords();
  /** "Stay signed in" device credentials, when offered: every end-all ends them too. */
  readonly devices: DeviceCredentials | undefined;

  constructor(
    kv: KeyValueStore,
    sealer: Sealer,
    storeSecret: StoreSecretSource,
    clock: Clock,
    limits: SessionLimits,
    codec: SessionCodec,
    emit: SessionEventSink = () => undefined,
    devices?: DeviceCredentials,
  ) {
    this.#kv = kv;
    this.#sealer = sealer;
    this.#clock = clock;
    this.#limits = limits;
    this.#codec = codec;
    this.#emit = emit;
    this.devices = devices;
    this.#index = new UserIndex(kv, storeSecret, clock, 'si', (userId) => `u:${userId}:sessions`);
    this.#generations = new Generations(kv, storeSecret, clock);
  }

  /** What may be stored, by the team's schemas. */
  get codec(): SessionCodec {
    return this.#codec;
  }

  get limits(): SessionLimits {
    return this.#limits;
  }

  /** Reports a session event (the core's starts and rotations go through here too). */
  emit(event: Parameters<SessionEventSink>[0]): void {
    this.#emit(event);
  }

  /** When the session ends if nothing else happens: the earlier of the idle and absolute deadlines. */
  expiresAt(record: SessionRecord): number {
    return Math.min(record.createdAt + this.#limits.absoluteMs, record.lastSeen + this.#limits.idleMs);
  }

  /** The live session under `id` (timeouts enforced), or `undefined`. A tombstone is no session. */
  async load(id: string): Promise<LoadedRecord | undefined> {
    const found = await this.findAt(storeKeyOf(id));
    return found?.kind === 'record' ? found : undefined;
  }

  /** What the store key holds now: a live record, a live tombstone, or nothing (expired or unreadable entries are removed). */
  findAt(key: string): Promise<Found | undefined> {
    return confirmAtEnd(async (step) => {
      const sealed = await this.#kv.get(key);
      if (sealed === undefined) return undefined;
      const found = this.#interpret(key, sealed);
      if (found === 'unreadable') {
        // A record we cannot open or of the wrong shape is no session; drop it.
        await this.#kv.delete(key);
        return undefined;
      }
      if (found === 'expired') {
        await step(this.#endAt(key, undefined, undefined, 'expired'));
        return undefined;
      }
      return found;
    });
  }

  /** Whether the session under `key` was used after the request that started it (a rotated device credential's successor). */
  async usedSinceStart(key: string): Promise<boolean> {
    const found = await this.findAt(key);
    return found?.kind === 'record' && found.record.lastSeen > found.record.createdAt;
  }

  /**
   * The user's session generation (moved by every end-all), in the era of
   * `like`: the `gen` of the record or device credential being checked
   * (`Generations.of`); left out, the one a new session carries.
   */
  generationOf(userId: string, like?: number): Promise<number> {
    return this.#generations.of(userId, like);
  }

  /**
   * Stores a brand-new session, then adds it to its user's index; resolves
   * the sealed text. In that order, so an index entry whose record is
   * missing is one whose session ended, and listing may prune it: written
   * at once, a listing between the two writes pruned the entry of a record
   * about to land, which then lived unindexed, out of reach of "end every
   * session" (found by the model checker). If either write fails the
   * caller issues no id, so a record without its index entry is never used.
   */
  async create(id: string, record: SessionRecord): Promise<string> {
    const key = storeKeyOf(id);
    const sealed = this.#seal(key, record);
    await this.#kv.set(key, sealed, this.#ttl(record));
    // The index holds only where the record lives; listing reads the record itself for the rest.
    await this.#index.set(record.user.id, publicIdOf(id), key, this.#indexLifetime(record));
    this.#noteIndexed(key);
    return sealed;
  }

  /**
   * Before an extension of the session's record (an idle extension, a data
   * update), makes sure its index entry lives as long as the record can
   * under this process's timeouts: until its absolute deadline. The entry
   * was given that deadline by whichever process wrote it, and one with a
   * longer `SESSION_ABSOLUTE_TIMEOUT` (raised across a restart, or during a
   * rolling deploy) keeps the record alive past it: unindexed, the session
   * would be out of reach of "end every session". Written before the
   * extension, so an end-all that runs in between finds the entry; at most
   * once per touch interval per session in this process (`#indexedAt`).
   * Resolves whether it wrote: should the extension then find the session
   * over, the caller drops the entry again (`unindexPublicId`).
   */
  async keepIndexed(publicId: string, key: string, record: SessionRecord): Promise<boolean> {
    const at = this.#indexedAt.get(key);
    if (at !== undefined && this.#clock.now() - at < touchIntervalOf(this.#limits.idleMs)) return false;
    await this.#index.set(record.user.id, publicId, key, this.#indexLifetime(record));
    this.#noteIndexed(key);
    return true;
  }

  /** Drops an index entry by its public id (one `keepIndexed` wrote for a session that turned out to be over). */
  async unindexPublicId(userId: string, publicId: string): Promise<void> {
    await this.#index.delete(userId, publicId);
  }

  /**
   * Writes `record` at `key` only if it still holds exactly `expected` (an
   * idle extension, a data update, a re-seal): resolves the new sealed
   * text, or `undefined` when something else was written meanwhile.
   */
  async rewriteAt(key: string, expected: string, record: SessionRecord): Promise<string | undefined> {
    const sealed = this.#seal(key, record);
    return (await this.#kv.compareAndSet(key, expected, sealed, this.#ttl(record))) ? sealed : undefined;
  }

  /**
   * A rotation's hand-over: the old record (only if it still holds exactly
   * `expected`) becomes a tombstone naming `successorId`, for as long as
   * the old id could still have been used. Resolves whether it did.
   */
  async retire(oldId: string, expected: string, successorId: string, record: SessionRecord): Promise<boolean> {
    const key = storeKeyOf(oldId);
    const now = this.#clock.now();
    const until = Math.min(now + this.#limits.idleMs, record.createdAt + this.#limits.absoluteMs);
    const tombstone: Tombstone = { next: storeKeyOf(successorId), nextPublicId: publicIdOf(successorId), userId: record.user.id, until };
    return this.#kv.compareAndSet(key, expected, this.#sealer.seal(encodeTombstone(tombstone), key), Math.max(1, until - now + STORE_TTL_SLACK_MS));
  }

  /** Drops a session's entry from its user's index (a rotated-away id). */
  async unindex(userId: string, id: string): Promise<void> {
    await this.#index.delete(userId, publicIdOf(id));
  }

  /**
   * Ends a session, and through its tombstone the session it was rotated
   * into. Resolves true when this call ended a live session: of a logout, a
   * revocation and a rotation racing for one session exactly one sees its
   * record, since the store hands it to one taker.
   */
  async remove(id: string, userId: string | undefined, reason?: SessionEndReason): Promise<boolean> {
    return this.#endAt(storeKeyOf(id), publicIdOf(id), userId, reason);
  }

  /** The user's live sessions, most recently used first; dead index entries found on the way are pruned. */
  async listForUser(userId: string): Promise<ListedSession[]> {
    return (await this.#live(userId)).map(({ publicId, record }) => ({ publicId, record }));
  }

  /**
   * The user's live sessions with their store keys, most recently used
   * first. An entry whose session is being rotated right now (a tombstone)
   * counts as its successor, whether or not the index lists that yet.
   */
  #live(userId: string): Promise<(ListedSession & { key: string })[]> {
    return confirmAtEnd(async (step) => {
      const listed = new Map<string, ListedSession & { key: string }>();
      const index = await this.#indexOf(userId);
      for (const [publicId, key] of index) {
        if (key === undefined) {
          await this.#index.delete(userId, publicId);
          continue;
        }
        let found = await step(this.findAt(key));
        let at = { publicId, key };
        for (let hop = 0; found?.kind === 'tombstone' && hop < MAX_FOLLOW; hop += 1) {
          at = { publicId: found.tombstone.nextPublicId, key: found.tombstone.next };
          found = index.has(at.publicId) ? undefined : await step(this.findAt(at.key));
        }
        const mine = found?.kind === 'record' && found.record.user.id === userId ? found : undefined;
        // Dead, planted (another user's record), or a tombstone: the entry goes (a successor has, or gets, its own).
        if (at.publicId !== publicId || !mine) await this.#index.delete(userId, publicId);
        if (mine) listed.set(at.publicId, { publicId: at.publicId, key: at.key, record: mine.record });
      }
      return [...listed.values()].sort((a, b) => b.record.lastSeen - a.record.lastSeen);
    });
  }

  /**
   * Ends one of the user's sessions by its public id. False when it is not
   * theirs or not live. An index entry whose record belongs to someone else
   * (a corrupted or planted index) is dropped, never followed.
   */
  removeByPublicId(userId: string, publicId: string, reason: SessionEndReason = 'revoked'): Promise<boolean> {
    return confirmAtEnd(async (step) => {
      const key = (await this.#indexOf(userId)).get(publicId);
      const found = key === undefined ? undefined : await step(this.findAt(key));
      if (key === undefined || !found || ownerOf(found) !== userId) {
        await this.#index.delete(userId, publicId);
        return false;
      }
      return step(this.#endAt(key, publicId, userId, reason));
    });
  }

  /**
   * Ends every session of the user except `keepPublicId`, as one state
   * change: the user's generation moves first, then the index is read, so a
   * session being created or rotated meanwhile is either in the index here
   * or sees the new generation and gives itself up (L11). Resolves how many
   * live sessions this call ended, and the new generation (a kept session
   * carries it from now on: `SessionCore.endOthers`).
   */
  endAllForUser(userId: string, keepPublicId: string | undefined, reason: SessionEndReason): Promise<{ ended: number; generation: number }> {
    // Unconfirmed steps do not stop it: the generation moved on the master, so every session must end there too.
    return confirmAtEnd(async (step) => {
      const generation = await step(this.#generations.advance(userId));
      let ended = 0;
      for (const [publicId, key] of await this.#indexOf(userId)) {
        if (publicId === keepPublicId) continue;
        const found = key === undefined ? undefined : await step(this.findAt(key));
        if (key === undefined || !found || ownerOf(found) !== userId) {
          await this.#index.delete(userId, publicId);
          continue;
        }
        // Counts only sessions this call really ended, not entries whose session ended meanwhile.
        if (await step(this.#endAt(key, publicId, userId, reason))) ended += 1;
      }
      // Already useless (they carry the old generation); removed so that nothing lists them.
      if (this.devices) await step(this.devices.forgetAll(userId));
      return { ended, generation };
    });
  }

  /** Ends every session of the user (no exception); resolves how many live ones it ended. */
  removeAllForUser(userId: string, keepPublicId: string | undefined, reason: SessionEndReason): Promise<number> {
    // A flow too, so that an unconfirmed end-all's error carries the count, not the end-all's own result.
    return confirmAtEnd(async (step) => (await step(this.endAllForUser(userId, keepPublicId, reason))).ended);
  }

  /** Past the cap, ends the user's least recently used sessions (`lastUseOf`), never `newestPublicId`; resolves their public ids. */
  enforceCap(userId: string, newestPublicId: string): Promise<string[]> {
    return confirmAtEnd(async (step) => {
      if ((await this.#index.getAll(userId)).size <= this.#limits.maxPerUser) return [];
      // Over the cap by the index: read the records (dead entries are pruned on the way) and count the live ones.
      const live = (await step(this.#live(userId))).filter((session) => session.publicId !== newestPublicId);
      const excess = live.length + 1 - this.#limits.maxPerUser;
      if (excess <= 0) return [];
      const interval = touchIntervalOf(this.#limits.idleMs);
      const leastRecent = live.sort((a, b) => lastUseOf(a.record, interval) - lastUseOf(b.record, interval)).slice(0, excess);
      const ended: string[] = [];
      for (const session of leastRecent) {
        // By its key, not its index entry: a session rotated meanwhile is followed through its tombstone to its successor.
        if (await step(this.#endAt(session.key, session.publicId, userId, 'cap'))) ended.push(session.publicId);
      }
      return ended;
    });
  }

  /**
   * Takes what is stored at `key`: a record ends (its index entry goes, and
   * the end is reported with `reason`); a tombstone leads on to the session
   * it names. `publicId` undefined: found by its key in the index.
   */
  #endAt(key: string, publicId: string | undefined, userId: string | undefined, reason: SessionEndReason | undefined, depth = 0): Promise<boolean> {
    // The take happened even when unconfirmed: what it took still ends (a tombstone's successor, the index entry, the event).
    return confirmAtEnd(async (step) => {
      // Together when the index entry is known (one synced commit on SQLite): the take's answer alone decides who ended it.
      const [taken] = await Promise.all([step(this.#kv.take(key, DURABLE)), userId !== undefined && publicId !== undefined ? this.#index.delete(userId, publicId) : undefined]);
      if (taken === undefined) return false;
      const found = this.#interpret(key, taken);
      if (found === 'unreadable') return false;
      if (found !== 'expired' && found.kind === 'tombstone') {
        const { tombstone } = found;
        if (depth >= MAX_FOLLOW) return false;
        return step(this.#endAt(tombstone.next, tombstone.nextPublicId, tombstone.userId, reason, depth + 1));
      }
      const record = found === 'expired' ? this.#expiredRecord(key, taken) : found.record;
      if (!record) return false;
      const owner = record.user.id;
      const field = publicId ?? (await this.#fieldOf(owner, key));
      if (field !== undefined && (userId === undefined || publicId === undefined)) await this.#index.delete(owner, field);
      const live = found !== 'expired';
      if (reason && field !== undefined && (live || reason === 'expired')) this.#emit({ type: 'ended', userId: owner, sessionId: field, reason, at: this.#clock.now() });
      return live;
    });
  }

  /** A stored entry, opened: a record (if still live), a tombstone (if not past its end), or why not. */
  #interpret(key: string, sealed: string): Found | 'expired' | 'unreadable' {
    const memo = this.#opened.get(key, sealed);
    if (memo) return this.#clock.now() >= this.expiresAt(memo.record) ? 'expired' : { kind: 'record', record: memo.record, rotated: memo.rotated, sealed };
    const opened = this.#sealer.open(sealed, key);
    if (!opened) return 'unreadable';
    const tombstone = decodeTombstone(opened.plaintext);
    if (tombstone) return this.#clock.now() < tombstone.until ? { kind: 'tombstone', tombstone } : 'expired';
    const decoded = this.#codec.decode(opened.plaintext);
    if (!decoded) return 'unreadable';
    const result = { record: decoded.record, rotated: opened.rotated || decoded.migrated };
    this.#opened.remember(key, sealed, result);
    return this.#clock.now() >= this.expiresAt(result.record) ? 'expired' : { kind: 'record', ...result, sealed };
  }

  /** The record of an expired entry (a tombstone past its end has none). */
  #expiredRecord(key: string, sealed: string): SessionRecord | undefined {
    const opened = this.#opened.get(key, sealed) ?? undefined;
    if (opened) return opened.record;
    const plaintext = this.#sealer.open(sealed, key)?.plaintext;
    return plaintext === undefined || decodeTombstone(plaintext) ? undefined : this.#codec.decode(plaintext)?.record;
  }

  /** The index field pointing at `key` (called without the raw id: a session that expired on read). */
  async #fieldOf(userId: string, key: string): Promise<string | undefined> {
    for (const [publicId, indexed] of await this.#indexOf(userId)) if (indexed === key) return publicId;
    return undefined;
  }

  /** The user's index: public id → store key (`undefined` for an entry that names no session key). */
  async #indexOf(userId: string): Promise<Map<string, string | undefined>> {
    const index = new Map<string, string | undefined>();
    for (const [publicId, raw] of await this.#index.getAll(userId)) index.set(publicId, indexedKeyOf(raw));
    return index;
  }

  #seal(key: string, record: SessionRecord): string {
    return this.#sealer.seal(this.#codec.encode(record), key);
  }

  /** How long an index entry must live: until the record's absolute deadline (and the slack), under this process's timeouts. */
  #indexLifetime(record: SessionRecord): number {
    return Math.max(1, record.createdAt + this.#limits.absoluteMs - this.#clock.now() + STORE_TTL_SLACK_MS);
  }

  /** Remembers that this process just wrote the index entry of the record at `key` (the last 4,096 sessions). */
  #noteIndexed(key: string): void {
    this.#indexedAt.delete(key);
    if (this.#indexedAt.size >= INDEXED_MEMO_SIZE) this.#indexedAt.delete(this.#indexedAt.keys().next().value!);
    this.#indexedAt.set(key, this.#clock.now());
  }

  #ttl(record: SessionRecord): number {
    return Math.max(1, this.expiresAt(record) - this.#clock.now() + STORE_TTL_SLACK_MS);
  }
}

const ownerOf = (found: Found) => (found.kind === 'record' ? found.record.user.id : found.tombstone.userId);

const STORE_KEY = /^s:[A-Za-z0-9_-]{43}$/;

/** The store key an index entry points at (written as a bare key; earlier versions wrote JSON with a `key`). */
function indexedKeyOf(raw: string): string | undefined {
  let key: unknown = raw;
  if (raw.startsWith('{')) {
    try {
      key = (JSON.parse(raw) as { key?: unknown }).key;
    } catch {
      return undefined;
    }
  }
  return typeof key === 'string' && STORE_KEY.test(key) ? key : undefined;
}
