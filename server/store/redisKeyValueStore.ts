import type { Keyv } from 'keyv';
import { KeyvKeyValueStore } from './keyvKeyValueStore.js';
import type { RedisClient } from './redisClient.js';

export interface RedisKeyValueStoreOptions {
  keyv: Keyv<string>;
  client: RedisClient;
  /** Exactly the prefix @keyv/redis puts before every key (`<namespace>::`). */
  keyPrefix: string;
  timeoutMs: number;
  close: () => Promise<void>;
}

/** One field of a map as a hash field: the value and when it expires (0 = never). */
interface StoredField {
  v: string;
  exp: number;
}

/**
 * Redis with native atomic commands, shared safely by any number of
 * processes: `SET … NX`/`SET … XX` for the conditional writes (written in
 * Keyv's stored format under Keyv's key prefix, so `keyv.get` reads them),
 * and a hash per map. Every command touches one key, so it runs unchanged on
 * Redis Cluster without hash tags.
 */
export class RedisKeyValueStore extends KeyvKeyValueStore {
  /** Connected once at open and reconnecting by itself; while offline every command fails at once. */
  readonly #redis: RedisClient;
  readonly #keyPrefix: string;

  constructor(options: RedisKeyValueStoreOptions) {
    super({
      kind: 'redis',
      keyv: options.keyv,
      timeoutMs: options.timeoutMs,
      close: options.close,
    });
    this.#redis = options.client;
    this.#keyPrefix = options.keyPrefix;
  }

  #key(key: string): string {
    return `${this.#keyPrefix}${key}`;
  }

  /** Keyv's stored value (`{"value":…,"expires":…}`), so a plain Keyv `get` reads it and honours `expires`. */
  async #serialize(value: string, ttlMs: number): Promise<string> {
    const expires = ttlMs !== 0 ? Date.now() + Math.max(1, ttlMs) : undefined;
    const serialize = this.keyv.serialize;
    return serialize ? await serialize({ value, expires }) : JSON.stringify({ value, expires });
  }

  override add(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.#conditionalSet('add', 'NX', key, value, ttlMs);
  }

  override replace(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.#conditionalSet('replace', 'XX', key, value, ttlMs);
  }

  #conditionalSet(name: string, condition: 'NX' | 'XX', key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.op(name, async () => {
      const client = this.#redis;
      const stored = await this.#serialize(value, ttlMs);
      const reply = await client.set(this.#key(key), stored, {
        condition,
        ...(ttlMs !== 0 ? { expiration: { type: 'PX', value: Math.max(1, ttlMs) } as const } : {}),
      });
      return reply === 'OK';
    });
  }

  override delete(key: string): Promise<boolean> {
    return this.op('delete', async () => (await this.#redis.unlink(this.#key(key))) > 0);
  }

  override mapSet(key: string, field: string, value: string, ttlMs: number): Promise<void> {
    return this.op('mapSet', async () => {
      const client = this.#redis;
      const redisKey = this.#key(key);
      const entry: StoredField = { v: value, exp: ttlMs !== 0 ? Date.now() + Math.max(1, ttlMs) : 0 };
      const multi = client.multi().hSet(redisKey, field, JSON.stringify(entry));
      if (ttlMs !== 0) {
        // NX gives a new hash its TTL; GT only ever extends an existing one. Atomic in MULTI (Redis ≥ 7.0).
        const ttl = Math.max(1, ttlMs);
        multi.pExpire(redisKey, ttl, 'NX').pExpire(redisKey, ttl, 'GT');
      } else {
        multi.persist(redisKey);
      }
      await multi.exec();
    });
  }

  override mapDelete(key: string, field: string): Promise<void> {
    return this.op('mapDelete', async () => {
      // Redis drops the hash itself when its last field goes.
      await this.#redis.hDel(this.#key(key), field);
    });
  }

  override mapGetAll(key: string): Promise<Map<string, string>> {
    return this.op('mapGetAll', async () => {
      const raw = await this.#redis.hGetAll(this.#key(key));
      const now = Date.now();
      const map = new Map<string, string>();
      for (const [field, text] of Object.entries(raw)) {
        const entry = parseField(text);
        if (entry && (entry.exp === 0 || entry.exp > now)) map.set(field, entry.v);
      }
      return map;
    });
  }
}

function parseField(text: string): StoredField | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<StoredField>;
    return typeof parsed.v === 'string' && typeof parsed.exp === 'number' ? { v: parsed.v, exp: parsed.exp } : undefined;
  } catch {
    return undefined;
  }
}
