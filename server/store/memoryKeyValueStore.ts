import { type Counter, type KeyValueStore } from './keyValueStore.js';
import { counterTtlMs, encodeCounter, NO_COUNTER, nextCounter, parseCounter, parseInteger } from './counter.js';
import { OffHeapStrings } from './offHeapStrings.js';

/** A map's fields as stored: `[field, value, expires]`, `expires` null for never. */
type StoredFields = [field: string, value: string, expires: number | null][];

/**
 * `KeyValueStore` in this process's memory (`memory://`): for development,
 * tests and a single instance. Every operation is one synchronous step, so
 * the conditional writes are atomic without a mutex. Nothing here can hang,
 * so there is no deadline timer. Expired entries are dropped when read and
 * by `sweepExpired`.
 *
 * The values and maps themselves live outside the V8 heap
 * (`OffHeapStrings`); the heap holds each key and a number. A million
 * sessions on the heap slowed every young-generation collection, so every
 * request, by ~15 % (bench/PROFILE.md); off the heap the collector never
 * looks at them. A map is stored as one value (its fields as JSON) and
 * rewritten on each field write: the maps here are a user's session index,
 * a handful of fields.
 */
export class MemoryKeyValueStore implements KeyValueStore {
  readonly kind = 'memory' as const;
  readonly #strings = new OffHeapStrings();
  readonly #values = new Map<string, number>();
  readonly #maps = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  get(key: string): Promise<string | undefined> {
    const handle = this.#live(key);
    return Promise.resolve(handle === undefined ? undefined : this.#strings.get(handle));
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#put(key, value, ttlMs);
    return Promise.resolve();
  }

  add(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.#live(key) !== undefined) return Promise.resolve(false);
    this.#put(key, value, ttlMs);
    return Promise.resolve(true);
  }

  replace(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.#live(key) === undefined) return Promise.resolve(false);
    this.#put(key, value, ttlMs);
    return Promise.resolve(true);
  }

  compareAndSet(key: string, expected: string, next: string, ttlMs: number): Promise<boolean> {
    const handle = this.#live(key);
    if (handle === undefined || this.#strings.get(handle) !== expected) return Promise.resolve(false);
    this.#put(key, next, ttlMs);
    return Promise.resolve(true);
  }

  addToCounter(key: string, delta: number, nowMs: number, windowMs: number): Promise<Counter> {
    const handle = this.#live(key);
    const counter = nextCounter(parseCounter(handle === undefined ? undefined : this.#strings.get(handle), nowMs), delta, nowMs, windowMs);
    if (!counter) return Promise.resolve(NO_COUNTER);
    this.#put(key, encodeCounter(counter), counterTtlMs(counter, nowMs));
    return Promise.resolve(counter);
  }

  delete(key: string): Promise<boolean> {
    // Like Redis's DEL: one key space, so a map under `key` goes too.
    const live = this.#live(key) !== undefined || this.#liveMap(key) !== undefined;
    this.#drop(this.#values, key);
    this.#drop(this.#maps, key);
    return Promise.resolve(live);
  }

  take(key: string): Promise<string | undefined> {
    const handle = this.#live(key);
    if (handle === undefined) return Promise.resolve(undefined);
    const value = this.#strings.get(handle);
    this.#drop(this.#values, key);
    return Promise.resolve(value);
  }

  increment(key: string): Promise<number> {
    const handle = this.#live(key);
    const next = parseInteger(handle === undefined ? undefined : this.#strings.get(handle)) + 1;
    this.#put(key, String(next), 0);
    return Promise.resolve(next);
  }

  mapSet(key: string, field: string, value: string, ttlMs: number): Promise<void> {
    const expires = this.#expiry(ttlMs);
    // Expired fields go on every write, so a map that keeps being extended cannot grow without bound.
    const fields = this.#liveFields(key).filter(([name]) => name !== field);
    fields.push([field, value, Number.isFinite(expires) ? expires : null]);
    this.#putFields(key, fields);
    return Promise.resolve();
  }

  mapDelete(key: string, field: string): Promise<void> {
    const fields = this.#liveFields(key);
    const kept = fields.filter(([name]) => name !== field);
    if (kept.length !== fields.length) this.#putFields(key, kept);
    return Promise.resolve();
  }

  mapGetAll(key: string): Promise<Map<string, string>> {
    return Promise.resolve(new Map(this.#liveFields(key).map(([field, value]) => [field, value])));
  }

  keysWithPrefix(prefix: string, limit: number): Promise<string[]> {
    const now = this.#now();
    const found = new Set<string>();
    for (const entries of [this.#values, this.#maps]) {
      for (const [key, handle] of entries) {
        if (found.size >= limit) break;
        if (key.startsWith(prefix) && this.#strings.expires(handle) > now) found.add(key);
      }
    }
    return Promise.resolve([...found]);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  sweepExpired(limit: number): Promise<number> {
    const now = this.#now();
    let removed = 0;
    for (const entries of [this.#values, this.#maps]) {
      for (const [key, handle] of entries) {
        if (removed >= limit) break;
        if (this.#strings.expires(handle) <= now) {
          this.#drop(entries, key);
          removed += 1;
        }
      }
    }
    return Promise.resolve(removed);
  }

  close(): Promise<void> {
    this.#values.clear();
    this.#maps.clear();
    this.#strings.clear();
    return Promise.resolve();
  }

  /** A TTL of 0 keeps the entry until it is deleted; any other is at least 1 ms (a negative one expires at once), as on Redis. */
  #expiry(ttlMs: number): number {
    return ttlMs === 0 ? Number.POSITIVE_INFINITY : this.#now() + Math.max(1, ttlMs);
  }

  #put(key: string, value: string, ttlMs: number): void {
    const previous = this.#values.get(key);
    this.#values.set(key, this.#strings.put(value, this.#expiry(ttlMs)));
    if (previous !== undefined) this.#strings.free(previous);
  }

  #drop(entries: Map<string, number>, key: string): void {
    const handle = entries.get(key);
    if (handle === undefined) return;
    entries.delete(key);
    this.#strings.free(handle);
  }

  #live(key: string): number | undefined {
    const handle = this.#values.get(key);
    if (handle === undefined) return undefined;
    if (this.#strings.expires(handle) > this.#now()) return handle;
    this.#drop(this.#values, key);
    return undefined;
  }

  #liveMap(key: string): number | undefined {
    const handle = this.#maps.get(key);
    if (handle === undefined) return undefined;
    if (this.#strings.expires(handle) > this.#now()) return handle;
    this.#drop(this.#maps, key);
    return undefined;
  }

  /** The map's live fields; expired ones are dropped from the stored map on the way. */
  #liveFields(key: string): StoredFields {
    const handle = this.#liveMap(key);
    if (handle === undefined) return [];
    const now = this.#now();
    const fields = JSON.parse(this.#strings.get(handle)) as StoredFields;
    const live = fields.filter(([, , expires]) => expires === null || expires > now);
    if (live.length !== fields.length) this.#putFields(key, live);
    return live;
  }

  /** Stores the map's fields (none: the map is gone); the map lives as long as its longest-lived field. */
  #putFields(key: string, fields: StoredFields): void {
    const previous = this.#maps.get(key);
    if (fields.length === 0) {
      this.#drop(this.#maps, key);
      return;
    }
    const expires = fields.some(([, , e]) => e === null) ? Number.POSITIVE_INFINITY : Math.max(...fields.map(([, , e]) => e!));
    this.#maps.set(key, this.#strings.put(JSON.stringify(fields), expires));
    if (previous !== undefined) this.#strings.free(previous);
  }
}
