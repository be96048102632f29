import { type Counter, type KeyValueStore } from './keyValueStore.js';
import { counterTtlMs, encodeCounter, NO_COUNTER, nextCounter, parseCounter } from './counter.js';

interface Entry {
  value: string;
  expires: number;
}

interface StoredMap {
  fields: Map<string, Entry>;
  /** The latest field expiry: the whole map is gone after it. */
  expires: number;
}

/**
 * `KeyValueStore` in this process's memory (`memory://`): for development,
 * tests and a single instance. Every operation is one synchronous step, so
 * the conditional writes are atomic without a mutex, and maps are real
 * `Map`s (a field write is O(1), not a rewrite of the whole map). Nothing
 * here can hang, so there is no deadline timer. Expired entries are dropped
 * when read and by `sweepExpired`.
 */
export class MemoryKeyValueStore implements KeyValueStore {
  readonly kind = 'memory' as const;
  readonly #values = new Map<string, Entry>();
  readonly #maps = new Map<string, StoredMap>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.#live(key)?.value);
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#values.set(key, { value, expires: this.#expiry(ttlMs) });
    return Promise.resolve();
  }

  add(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.#live(key)) return Promise.resolve(false);
    this.#values.set(key, { value, expires: this.#expiry(ttlMs) });
    return Promise.resolve(true);
  }

  replace(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (!this.#live(key)) return Promise.resolve(false);
    this.#values.set(key, { value, expires: this.#expiry(ttlMs) });
    return Promise.resolve(true);
  }

  compareAndSet(key: string, expected: string, next: string, ttlMs: number): Promise<boolean> {
    if (this.#live(key)?.value !== expected) return Promise.resolve(false);
    this.#values.set(key, { value: next, expires: this.#expiry(ttlMs) });
    return Promise.resolve(true);
  }

  addToCounter(key: string, delta: number, nowMs: number, windowMs: number): Promise<Counter> {
    const counter = nextCounter(parseCounter(this.#live(key)?.value, nowMs), delta, nowMs, windowMs);
    if (!counter) return Promise.resolve(NO_COUNTER);
    this.#values.set(key, { value: encodeCounter(counter), expires: this.#expiry(counterTtlMs(counter, nowMs)) });
    return Promise.resolve(counter);
  }

  delete(key: string): Promise<boolean> {
    // Like Redis's DEL: one key space, so a map under `key` goes too.
    const live = this.#live(key) !== undefined || this.#liveMap(key) !== undefined;
    this.#values.delete(key);
    this.#maps.delete(key);
    return Promise.resolve(live);
  }

  mapSet(key: string, field: string, value: string, ttlMs: number): Promise<void> {
    const expires = this.#expiry(ttlMs);
    const map = this.#liveMap(key);
    if (map) {
      // Expired fields go on every write, so a map that keeps being extended cannot grow without bound.
      const now = this.#now();
      for (const [name, entry] of map.fields) if (entry.expires <= now) map.fields.delete(name);
      map.fields.set(field, { value, expires });
      map.expires = Math.max(map.expires, expires);
    } else {
      this.#maps.set(key, { fields: new Map([[field, { value, expires }]]), expires });
    }
    return Promise.resolve();
  }

  mapDelete(key: string, field: string): Promise<void> {
    const map = this.#liveMap(key);
    if (map) {
      map.fields.delete(field);
      if (map.fields.size === 0) this.#maps.delete(key);
    }
    return Promise.resolve();
  }

  mapGetAll(key: string): Promise<Map<string, string>> {
    const now = this.#now();
    const result = new Map<string, string>();
    const map = this.#liveMap(key);
    if (map) {
      for (const [field, entry] of map.fields) {
        if (entry.expires > now) result.set(field, entry.value);
        else map.fields.delete(field);
      }
      if (map.fields.size === 0) this.#maps.delete(key);
    }
    return Promise.resolve(result);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  sweepExpired(limit: number): Promise<number> {
    const now = this.#now();
    let removed = 0;
    for (const [key, entry] of this.#values) {
      if (removed >= limit) break;
      if (entry.expires <= now) {
        this.#values.delete(key);
        removed += 1;
      }
    }
    for (const [key, map] of this.#maps) {
      if (removed >= limit) break;
      if (map.expires <= now) {
        this.#maps.delete(key);
        removed += 1;
      }
    }
    return Promise.resolve(removed);
  }

  close(): Promise<void> {
    this.#values.clear();
    this.#maps.clear();
    return Promise.resolve();
  }

  /** A TTL of 0 keeps the entry until it is deleted; any other is at least 1 ms (a negative one expires at once), as on Redis. */
  #expiry(ttlMs: number): number {
    return ttlMs === 0 ? Number.POSITIVE_INFINITY : this.#now() + Math.max(1, ttlMs);
  }

  #live(key: string): Entry | undefined {
    const entry = this.#values.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires > this.#now()) return entry;
    this.#values.delete(key);
    return undefined;
  }

  #liveMap(key: string): StoredMap | undefined {
    const map = this.#maps.get(key);
    if (map === undefined) return undefined;
    if (map.expires > this.#now()) return map;
    this.#maps.delete(key);
    return undefined;
  }
}
