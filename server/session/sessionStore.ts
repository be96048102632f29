import type { Clock } from '../clock.js';
import type { KeyValueStore } from '../store/keyValueStore.js';
import { type OpenedRecord, OpenedRecords } from './openedRecords.js';
import type { Sealer } from './sealer.js';
import { publicIdOf, storeKeyOf } from './sessionId.js';
import { type SessionRecord, sessionRecordSchema } from './sessionRecord.js';

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
  /** Encrypted under an older key: re-seal on this request. */
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
  /** Reads of an unchanged record skip AES-GCM and validation (issue 5). */
  readonly #opened = new OpenedRecords();

  constructor(kv: KeyValueStore, sealer: Sealer, clock: Clock, timeouts: SessionLimits) {
    this.#kv = kv;
    this.#sealer = sealer;
    this.#clock = clock;
    this.#timeouts = timeouts;
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
      await this.#removeByKey(key, record.uid, undefined);
      return undefined;
    }
    return { record, rotated: opened.rotated };
  }

  #open(key: string, sealed: string): OpenedRecord | undefined {
    const opened = this.#sealer.open(sealed, key);
    const record = opened ? parseRecord(opened.plaintext) : undefined;
    if (!opened || !record) return undefined;
    const result = { record, rotated: opened.rotated };
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
    await this.#kv.set(key, this.#seal(key, record), ttl);
    const lifetime = record.createdAt + this.#timeouts.absoluteMs - this.#clock.now() + STORE_TTL_SLACK_MS;
    // The index holds only where the record lives; listing reads the record itself for the rest.
    const publicId = publicIdOf(id);
    await this.#kv.mapSet(indexKeyOf(record.uid), publicId, key, lifetime);
    return this.#enforceCap(record.uid, publicId);
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
      if (await this.removeByPublicId(userId, session.publicId)) ended.push(session.publicId);
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
  async remove(id: string, userId: string | undefined): Promise<boolean> {
    return this.#removeByKey(storeKeyOf(id), userId, publicIdOf(id));
  }

  async #removeByKey(key: string, userId: string | undefined, publicId: string | undefined): Promise<boolean> {
    const removed = await this.#kv.delete(key);
    if (userId === undefined) return removed;
    if (publicId !== undefined) {
      await this.#kv.mapDelete(indexKeyOf(userId), publicId);
      return removed;
    }
    // Called without the raw id (expired on read): find the index entry by its store key.
    for (const [field, raw] of await this.#kv.mapGetAll(indexKeyOf(userId))) {
      if (indexedKeyOf(raw) === key) await this.#kv.mapDelete(indexKeyOf(userId), field);
    }
    return removed;
  }

  /** The user's live sessions; dead index entries found on the way are pruned. */
  async listForUser(userId: string): Promise<ListedSession[]> {
    const index = await this.#kv.mapGetAll(indexKeyOf(userId));
    const listed: ListedSession[] = [];
    for (const [publicId, raw] of index) {
      const indexed = indexedKeyOf(raw);
      const loaded = indexed ? await this.#loadByKey(indexed) : undefined;
      if (loaded && loaded.record.uid === userId) {
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
  async removeByPublicId(userId: string, publicId: string): Promise<boolean> {
    const raw = (await this.#kv.mapGetAll(indexKeyOf(userId))).get(publicId);
    const indexed = raw === undefined ? undefined : indexedKeyOf(raw);
    if (!indexed) return false;
    const live = await this.#loadByKey(indexed);
    if (live?.record.uid !== userId) {
      await this.#kv.mapDelete(indexKeyOf(userId), publicId);
      return false;
    }
    await this.#removeByKey(indexed, userId, publicId);
    return true;
  }

  /**
   * Ends every session of the user except `keepPublicId`; returns how many
   * live records it removed. Each record is checked to be the user's before
   * it goes, as in `removeByPublicId`.
   */
  async removeAllForUser(userId: string, keepPublicId?: string): Promise<number> {
    let ended = 0;
    for (const [publicId, raw] of await this.#kv.mapGetAll(indexKeyOf(userId))) {
      if (publicId === keepPublicId) continue;
      const indexed = indexedKeyOf(raw);
      const live = indexed ? await this.#loadByKey(indexed) : undefined;
      // Count only sessions this call really ended, not index entries whose session had expired or ended meanwhile.
      if (indexed && live?.record.uid === userId && (await this.#kv.delete(indexed))) ended += 1;
      await this.#kv.mapDelete(indexKeyOf(userId), publicId);
    }
    return ended;
  }

  #seal(key: string, record: SessionRecord): string {
    return this.#sealer.seal(encodeRecord(record), key);
  }

  #ttl(record: SessionRecord): number {
    return Math.max(1, this.expiresAt(record) - this.#clock.now() + STORE_TTL_SLACK_MS);
  }
}

/**
 * A record's plaintext: its format version, then its fields as a JSON array
 * in a fixed order, not an object with names (about 40 % fewer bytes at
 * rest, issue 5). Records written as objects by earlier versions are still
 * read; a later format bumps the leading version.
 */
function encodeRecord(record: SessionRecord): string {
  return JSON.stringify([record.v, record.uid, record.username, record.role, record.createdAt, record.lastSeen, record.ua]);
}

function parseRecord(plaintext: string): SessionRecord | undefined {
  try {
    const parsed: unknown = JSON.parse(plaintext);
    if (Array.isArray(parsed) && parsed.length !== 7) return undefined;
    const fields = Array.isArray(parsed)
      ? { v: parsed[0], uid: parsed[1], username: parsed[2], role: parsed[3], createdAt: parsed[4], lastSeen: parsed[5], ua: parsed[6] }
      : parsed;
    const result = sessionRecordSchema.safeParse(fields);
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
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
