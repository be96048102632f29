import type { Keyv } from 'keyv';
import { withDeadline } from './deadline.js';
import { COUNTER_TTL_SLACK_MS, encodeCounter, parseCounter } from './counter.js';
import type { Counter, KeyValueStore, StoreKind } from './keyValueStore.js';
import { KeyedMutex } from './keyedMutex.js';

export interface KeyvKeyValueStoreOptions {
  kind: StoreKind;
  keyv: Keyv<string>;
  timeoutMs: number;
  /** Backend round trip for `ping()`; defaults to a `get` of a fixed key. */
  ping?: () => Promise<unknown>;
  /** Backend-specific removal of expired rows; defaults to none needed. */
  sweep?: (limit: number) => Promise<number>;
  close: () => Promise<void>;
}

type StoredMap = Record<string, { v: string; exp: number }>;

/**
 * `KeyValueStore` over Keyv (with `throwOnErrors`). The conditional writes
 * and maps are read-modify-write under a per-key in-process mutex, which is
 * exact for single-process backends (memory, SQLite). Shared backends
 * override them with native atomic commands.
 */
export class KeyvKeyValueStore implements KeyValueStore {
  readonly kind: StoreKind;
  protected readonly keyv: Keyv<string>;
  protected readonly timeoutMs: number;
  readonly #mutex = new KeyedMutex();
  readonly #ping: () => Promise<unknown>;
  readonly #sweep: (limit: number) => Promise<number>;
  readonly #close: () => Promise<void>;

  constructor(options: KeyvKeyValueStoreOptions) {
    this.kind = options.kind;
    this.keyv = options.keyv;
    this.timeoutMs = options.timeoutMs;
    this.#ping = options.ping ?? (() => this.keyv.get('health'));
    this.#sweep = options.sweep ?? (() => Promise.resolve(0));
    this.#close = options.close;
  }

  /** Runs one backend call under the deadline, mapping failures to `StoreUnavailableError`. */
  protected op<T>(name: string, run: () => Promise<T>): Promise<T> {
    return withDeadline(name, this.timeoutMs, run);
  }

  get(key: string): Promise<string | undefined> {
    return this.op('get', () => this.keyv.get(key));
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.op('set', () => this.keyv.set(key, value, ttlMs));
  }

  add(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.#mutex.run(key, async () => {
      if ((await this.get(key)) !== undefined) return false;
      await this.set(key, value, ttlMs);
      return true;
    });
  }

  replace(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.#mutex.run(key, async () => {
      if ((await this.get(key)) === undefined) return false;
      await this.set(key, value, ttlMs);
      return true;
    });
  }

  compareAndSet(key: string, expected: string, next: string, ttlMs: number): Promise<boolean> {
    return this.#mutex.run(key, async () => {
      if ((await this.get(key)) !== expected) return false;
      await this.set(key, next, ttlMs);
      return true;
    });
  }

  addToCounter(key: string, delta: number, nowMs: number, windowMs: number): Promise<Counter> {
    return this.#mutex.run(key, async () => {
      const current = parseCounter(await this.get(key), nowMs);
      if (!current && delta <= 0) return { count: 0, expiresAt: 0 };
      const counter: Counter = current
        ? { count: current.count + delta, expiresAt: current.expiresAt }
        : { count: delta, expiresAt: windowMs > 0 ? nowMs + windowMs : 0 };
      await this.set(key, encodeCounter(counter), counter.expiresAt > 0 ? counter.expiresAt - nowMs + COUNTER_TTL_SLACK_MS : 0);
      return counter;
    });
  }

  delete(key: string): Promise<boolean> {
    return this.#mutex.run(key, () => this.op('delete', () => this.keyv.delete(key)));
  }

  mapSet(key: string, field: string, value: string, ttlMs: number): Promise<void> {
    return this.#mutex.run(key, async () => {
      const now = Date.now();
      const map = await this.#readMap(key, now);
      map[field] = { v: value, exp: now + ttlMs };
      await this.#writeMap(key, map, now);
    });
  }

  mapDelete(key: string, field: string): Promise<void> {
    return this.#mutex.run(key, async () => {
      const now = Date.now();
      const map = await this.#readMap(key, now);
      if (!(field in map)) return;
      delete map[field];
      await this.#writeMap(key, map, now);
    });
  }

  async mapGetAll(key: string): Promise<Map<string, string>> {
    const map = await this.#readMap(key, Date.now());
    return new Map(Object.entries(map).map(([field, entry]) => [field, entry.v]));
  }

  async #readMap(key: string, now: number): Promise<StoredMap> {
    const raw = await this.get(key);
    if (raw === undefined) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return {};
    }
    const map: StoredMap = {};
    if (parsed && typeof parsed === 'object') {
      for (const [field, entry] of Object.entries(parsed as Record<string, unknown>)) {
        const e = entry as { v?: unknown; exp?: unknown };
        if (typeof e?.v === 'string' && typeof e.exp === 'number' && e.exp > now) map[field] = { v: e.v, exp: e.exp };
      }
    }
    return map;
  }

  async #writeMap(key: string, map: StoredMap, now: number): Promise<void> {
    const entries = Object.values(map);
    if (entries.length === 0) {
      await this.op('delete', () => this.keyv.delete(key));
      return;
    }
    const ttl = Math.max(...entries.map((e) => e.exp)) - now;
    await this.set(key, JSON.stringify(map), ttl);
  }

  async ping(): Promise<void> {
    await this.op('ping', this.#ping);
  }

  sweepExpired(limit: number): Promise<number> {
    return this.op('sweep', () => this.#sweep(limit));
  }

  close(): Promise<void> {
    return this.#close();
  }
}
