import type { Clock } from '../clock.js';
import type { KeyValueStore } from '../store/keyValueStore.js';
import { type OpenedRecord, OpenedRecords } from './openedRecords.js';
import type { Sealer } from './sealer.js';
import type { SessionCodec } from './sessionCodec.js';
import type { SessionEndReason, SessionEventSink } from './sessionEvents.js';
import { publicIdOf, storeKeyOf } from './sessionId.js';
import type { SessionRecord } from './sessionRecord.js';

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
}

export interface ListedSession {
  publicId: string;
  record: Readonly<SessionRecord>;
}

/** The store outlives the server's own expiry check by this much, so the server always decides. */
const STORE_TTL_SLACK_MS = 5_000;

const indexKeyOf = (userId: string) => `u:${userId}:sessions`;

/**
 * Sessions in the store: sealed records under hashed keys, plus a per-user
 * index of live sessions for listing and revocation. Every "not a live
 * session" outcome (missing, expired, malformed, foreign key) is a value
 * (`undefined`), and malformed or expired records are removed.
 */
export class SessionStore {
  readonly #kv: KeyValueStore;
  readonly #sealer: Sealer;
  readonly #clock: Clock;
  readonly #timeouts: SessionLimits;
  readonly #codec: SessionCodec;
  readonly #emit: SessionEventSink;
  /** Reads of an unchanged record skip AES-GCM and validation (issue 5). */
  readonly #opened = new OpenedRecords();

  constructor(kv: KeyValueStore, sealer: Sealer, clock: Clock, timeouts: SessionLimits, codec: SessionCodec, emit: SessionEventSink = () => undefined) {
    this.#kv = kv;
    this.#sealer = sealer;
    this.#clock = clock;
    this.#timeouts = timeouts;
    this.#codec = codec;
    this.#emit = emit;
  }

  /** What may be stored, by the team's schemas. */
  get codec(): SessionCodec {
    return this.#codec;
  }

  /** Reports a session event (the session layer's starts and rotations go through here too). */
  emit(event: Parameters<SessionEventSink>[0]): void {
    this.#emit(event);
  }

  /** When the session ends if nothing else happens: the earlier of the idle and absolute deadlines. */
  expiresAt(record: SessionRecord): number {
    return Math.min(record.createdAt + this.#timeouts.absoluteMs, record.lastSeen + this.#timeouts.idleMs);
  }

  async load(id: string): Promise<LoadedRecord | undefined> {
    return this.#loadByKey(storeKeyOf(id));
  }

  async #loadByKey(key: string): Promise<LoadedRecord | undefined> {
    const sealed = await this.#kv.get(key);
    if (sealed === undefined) return undefined;
    const opened = this.#opened.get(key, sealed) ?? this.#open(key, sealed);
    if (!opened) {
      // A record we cannot open or of the wrong shape is no session; drop it.
      await this.#kv.delete(key);
      return undefined;
    }
    const { record } = opened;
    if (this.#clock.now() >= this.expiresAt(record)) {
      await this.#removeByKey(key, record.user.id, undefined, 'expired');
      return undefined;
    }
    return { record, rotated: opened.rotated };
  }

  #open(key: string, sealed: string): OpenedRecord | undefined {
    const opened = this.#sealer.open(sealed, key);
    const decoded = opened ? this.#codec.decode(opened.plaintext) : undefined;
    if (!opened || !decoded) return undefined;
    const result = { record: decoded.record, rotated: opened.rotated || decoded.migrated };
    this.#opened.remember(key, sealed, result);
    return result;
  }

  /**
   * Stores a brand-new session and adds it to its user's index. Past the
   * per-user cap, the user's least recently used sessions end; resolves
   * their public ids.
   */
  async create(id: string, record: SessionRecord): Promise<string[]> {
    const key = storeKeyOf(id);
    const ttl = this.#ttl(record);
    const lifetime = record.createdAt + this.#timeouts.absoluteMs - this.#clock.now() + STORE_TTL_SLACK_MS;
    // The index holds only where the record lives; listing reads the record itself for the rest.
    const publicId = publicIdOf(id);
    // Both at once: one round trip (Redis pipelines them; SQLite commits them in one transaction). If either
    // fails, login fails and no cookie carries the id, so a record without its index entry is never used.
    await Promise.all([this.#kv.set(key, this.#seal(key, record), ttl), this.#kv.mapSet(indexKeyOf(record.user.id), publicId, key, lifetime)]);
    return this.#enforceCap(record.user.id, publicId);
  }

  /** Ends the least recently used sessions beyond the cap, never the one just created. */
  async #enforceCap(userId: string, newest: string): Promise<string[]> {
    const index = await this.#kv.mapGetAll(indexKeyOf(userId));
    if (index.size <= this.#timeouts.maxPerUser) return [];
    // Over the cap by the index: read the records (dead entries are pruned on the way) and count the live ones.
    const live = (await this.listForUser(userId)).filter((session) => session.publicId !== newest);
    const excess = live.length + 1 - this.#timeouts.maxPerUser;
    if (excess <= 0) return [];
    const leastRecent = live.sort((a, b) => a.record.lastSeen - b.record.lastSeen).slice(0, excess);
    const ended: string[] = [];
    for (const session of leastRecent) {
      if (await this.removeByPublicId(userId, session.publicId, 'cap')) ended.push(session.publicId);
    }
    return ended;
  }

  /**
   * Rewrites an existing session (idle extension, key rotation). Writes only
   * if the record still exists, so a request that was in flight during a
   * logout or revocation cannot bring the session back.
   */
  async update(id: string, record: SessionRecord): Promise<boolean> {
    const key = storeKeyOf(id);
    return this.#kv.replace(key, this.#seal(key, record), this.#ttl(record));
  }

  /**
   * Ends a session. Resolves true when this call removed its record: of a
   * logout, a revocation and a rotation racing for one session, exactly one
   * sees true, so only that one may go on (e.g. issue a rotated id).
   */
  async remove(id: string, userId: string | undefined, reason?: SessionEndReason): Promise<boolean> {
    return this.#removeByKey(storeKeyOf(id), userId, publicIdOf(id), reason);
  }

  /** Deletes a record and its index entry; reports the end (with `reason`) when this call removed it. */
  async #removeByKey(key: string, userId: string | undefined, publicId: string | undefined, reason?: SessionEndReason): Promise<boolean> {
    if (userId === undefined) return this.#kv.delete(key);
    let field = publicId;
    let removed: boolean;
    if (field !== undefined) {
      // Together (one synced commit on SQLite): the delete's answer alone decides who ended the session.
      [removed] = await Promise.all([this.#kv.delete(key), this.#kv.mapDelete(indexKeyOf(userId), field)]);
    } else {
      removed = await this.#kv.delete(key);
      // Called without the raw id (expired on read): find the index entry by its store key.
      for (const [name, raw] of await this.#kv.mapGetAll(indexKeyOf(userId))) {
        if (indexedKeyOf(raw) === key) {
          field = name;
          await this.#kv.mapDelete(indexKeyOf(userId), name);
        }
      }
    }
    if (removed && reason && field !== undefined) this.#emit({ type: 'ended', userId, sessionId: field, reason, at: this.#clock.now() });
    return removed;
  }

  /** The user's live sessions; dead index entries found on the way are pruned. */
  async listForUser(userId: string): Promise<ListedSession[]> {
    const index = await this.#kv.mapGetAll(indexKeyOf(userId));
    const listed: ListedSession[] = [];
    for (const [publicId, raw] of index) {
      const indexed = indexedKeyOf(raw);
      const loaded = indexed ? await this.#loadByKey(indexed) : undefined;
      if (loaded && loaded.record.user.id === userId) {
        listed.push({ publicId, record: loaded.record });
      } else {
        await this.#kv.mapDelete(indexKeyOf(userId), publicId);
      }
    }
    return listed.sort((a, b) => b.record.lastSeen - a.record.lastSeen);
  }

  /**
   * Ends one of the user's sessions by its public id. False when it is not
   * theirs or not live. An index entry whose record belongs to someone else
   * (a corrupted or planted index) is dropped, never followed.
   */
  async removeByPublicId(userId: string, publicId: string, reason: SessionEndReason = 'revoked'): Promise<boolean> {
    const raw = (await this.#kv.mapGetAll(indexKeyOf(userId))).get(publicId);
    const indexed = raw === undefined ? undefined : indexedKeyOf(raw);
    if (!indexed) return false;
    const live = await this.#loadByKey(indexed);
    if (live?.record.user.id !== userId) {
      await this.#kv.mapDelete(indexKeyOf(userId), publicId);
      return false;
    }
    return this.#removeByKey(indexed, userId, publicId, reason);
  }

  /**
   * Ends every session of the user except `keepPublicId`; returns how many
   * live records it removed. Each record is checked to be the user's before
   * it goes, as in `removeByPublicId`.
   */
  async removeAllForUser(userId: string, keepPublicId: string | undefined, reason: SessionEndReason): Promise<number> {
    let ended = 0;
    for (const [publicId, raw] of await this.#kv.mapGetAll(indexKeyOf(userId))) {
      if (publicId === keepPublicId) continue;
      const indexed = indexedKeyOf(raw);
      const live = indexed ? await this.#loadByKey(indexed) : undefined;
      if (!indexed || live?.record.user.id !== userId) {
        await this.#kv.mapDelete(indexKeyOf(userId), publicId);
        continue;
      }
      // Count only sessions this call really ended, not index entries whose session had expired or ended meanwhile.
      if (await this.#removeByKey(indexed, userId, publicId, reason)) ended += 1;
    }
    return ended;
  }

  #seal(key: string, record: SessionRecord): string {
    return this.#sealer.seal(this.#codec.encode(record), key);
  }

  #ttl(record: SessionRecord): number {
    return Math.max(1, this.expiresAt(record) - this.#clock.now() + STORE_TTL_SLACK_MS);
  }
}

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
