import { counterTtlMs, encodeCounter, NO_COUNTER, nextCounter, parseCounter, parseInteger } from './counter.js';
import { withDeadline } from './deadline.js';
import { KeyedLock } from './keyedLock.js';
import type { Counter, KeyValueStore } from './keyValueStore.js';
import { StoredMap } from './storedMap.js';
import { StoreUnavailableError } from './storeErrors.js';

/** The part of a Keyv 5.6 instance this store uses (typed here, so Gatehouse's types never need `keyv`). */
export interface KeyvInstance {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown, ttl?: number): Promise<boolean>;
  delete(key: string): Promise<boolean>;
  disconnect(): Promise<void>;
  deserializeData(raw: unknown): Promise<{ value?: unknown; expires?: number | null } | undefined>;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  /** The storage adapter. */
  readonly store: object;
  readonly namespace: string | undefined;
  readonly useKeyPrefix: boolean;
  throwOnErrors: boolean;
  /** Set by Keyv only for a `Map` and adapters whose iterator it trusts (the SQL ones, Redis, Mongo, …). */
  readonly iterator?: unknown;
}

export interface KeyvKeyValueStoreOptions {
  keyv: KeyvInstance;
  timeoutMs: number;
  startupWarning: string;
  /** Told about a failed disconnect (`close()` itself never throws: a shutdown goes on). */
  onError?: ((error: unknown) => void) | undefined;
}

type RawEntry = [key: string, raw: unknown];

/** Conditional writes of every store over one adapter object take the same locks (two stores, one Keyv). */
const locksByAdapter = new WeakMap<object, KeyedLock>();

/**
 * `KeyValueStore` over any Keyv storage adapter (`keyvStore`). Values go
 * through Keyv as strings (its wrapper carries the expiry, so an adapter
 * without TTLs still expires them on read); a map is one JSON value
 * (`StoredMap`). Every operation has a deadline.
 *
 * An adapter offers get, set and delete, nothing conditional. So every
 * write (set, add, replace, compareAndSet, delete, addToCounter, mapSet,
 * mapDelete) runs under a per-key lock in this process, which makes the
 * read-then-write steps atomic here and nowhere else: one instance only.
 * An operation that waited past its deadline for the lock, or whose read
 * took that long, writes nothing (its caller already got a 503).
 */
export class KeyvKeyValueStore implements KeyValueStore {
  readonly kind = 'keyv' as const;
  readonly startupWarning: string;
  readonly #keyv: KeyvInstance;
  readonly #timeoutMs: number;
  readonly #locks: KeyedLock;
  readonly #onError: ((error: unknown) => void) | undefined;
  /** What Keyv puts before every key of this store (`<namespace>:`), or nothing. */
  readonly #prefix: string;
  /**
   * Only when Keyv can iterate the adapter (a `Map`, the SQL adapters, …):
   * without an iterator no key can be listed, and callers test for the
   * method, so it is left out rather than answering an empty list.
   */
  declare readonly keysWithPrefix?: (prefix: string, limit: number) => Promise<string[]>;

  constructor(options: KeyvKeyValueStoreOptions) {
    this.#keyv = options.keyv;
    this.#timeoutMs = options.timeoutMs;
    this.startupWarning = options.startupWarning;
    this.#onError = options.onError;
    const adapter = options.keyv.store;
    let locks = locksByAdapter.get(adapter);
    if (!locks) locksByAdapter.set(adapter, (locks = new KeyedLock()));
    this.#locks = locks;
    const { namespace, useKeyPrefix } = options.keyv;
    this.#prefix = useKeyPrefix && namespace ? `${namespace}:` : '';
    if (options.keyv.iterator !== undefined) {
      this.keysWithPrefix = (prefix, limit) => this.#keysWithPrefix(prefix, limit);
    }
  }

  get(key: string): Promise<string | undefined> {
    return withDeadline('get', this.#timeoutMs, () => this.#read(key));
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.#locked('set', key, (inTime) => this.#write(key, value, ttlMs, inTime));
  }

  add(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.#locked('add', key, async (inTime) => {
      if ((await this.#read(key)) !== undefined) return false;
      await this.#write(key, value, ttlMs, inTime);
      return true;
    });
  }

  replace(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.#locked('replace', key, async (inTime) => {
      if ((await this.#read(key)) === undefined) return false;
      await this.#write(key, value, ttlMs, inTime);
      return true;
    });
  }

  compareAndSet(key: string, expected: string, next: string, ttlMs: number): Promise<boolean> {
    return this.#locked('compareAndSet', key, async (inTime) => {
      if ((await this.#read(key)) !== expected) return false;
      await this.#write(key, next, ttlMs, inTime);
      return true;
    });
  }

  delete(key: string): Promise<boolean> {
    return this.#locked('delete', key, async (inTime) => {
      // Keyv's get drops an expired entry itself; only a live one counts as removed (as on Redis).
      if ((await this.#read(key)) === undefined) return false;
      inTime();
      await this.#keyv.delete(key);
      return true;
    });
  }

  take(key: string): Promise<string | undefined> {
    return this.#locked('take', key, async (inTime) => {
      const value = await this.#read(key);
      if (value === undefined) return undefined;
      inTime();
      await this.#keyv.delete(key);
      return value;
    });
  }

  increment(key: string): Promise<number> {
    return this.#locked('increment', key, async (inTime) => {
      const next = parseInteger(await this.#read(key)) + 1;
      await this.#write(key, String(next), 0, inTime);
      return next;
    });
  }

  addToCounter(key: string, delta: number, nowMs: number, windowMs: number): Promise<Counter> {
    return this.#locked('addToCounter', key, async (inTime) => {
      const counter = nextCounter(parseCounter(await this.#read(key), nowMs), delta, nowMs, windowMs);
      if (!counter) return NO_COUNTER;
      await this.#write(key, encodeCounter(counter), counterTtlMs(counter, nowMs), inTime);
      return counter;
    });
  }

  mapSet(key: string, field: string, value: string, ttlMs: number): Promise<void> {
    return this.#locked('mapSet', key, async (inTime) => {
      const now = Date.now();
      const map = StoredMap.parse(await this.#read(key), now);
      map.set(field, value, ttlMs, now);
      await this.#write(key, JSON.stringify(map), map.ttlMs(now), inTime);
    });
  }

  mapDelete(key: string, field: string): Promise<void> {
    return this.#locked('mapDelete', key, async (inTime) => {
      const now = Date.now();
      const map = StoredMap.parse(await this.#read(key), now);
      if (!map.delete(field)) return;
      if (map.size > 0) return this.#write(key, JSON.stringify(map), map.ttlMs(now), inTime);
      inTime();
      await this.#keyv.delete(key);
    });
  }

  mapGetAll(key: string): Promise<Map<string, string>> {
    return withDeadline('mapGetAll', this.#timeoutMs, async () => StoredMap.parse(await this.#read(key), Date.now()).values());
  }

  async ping(): Promise<void> {
    await withDeadline('ping', this.#timeoutMs, () => this.#keyv.get(PING_KEY));
  }

  /**
   * Removes expired entries of this namespace, when Keyv can iterate the
   * adapter (a `Map`, the SQL adapters, …; others expire by themselves or
   * not at all). A full scan each time: Keyv has no index by expiry.
   */
  async sweepExpired(limit: number): Promise<number> {
    const entries = this.#rawEntries();
    if (!entries) return 0;
    let removed = 0;
    for (;;) {
      if (removed >= limit) {
        await entries.return?.();
        break;
      }
      const next = await withDeadline('sweep', this.#timeoutMs, () => entries.next());
      if (next.done) break;
      const [fullKey, raw] = next.value;
      if (!fullKey.startsWith(this.#prefix) || !isExpired(await this.#keyv.deserializeData(raw))) continue;
      const key = fullKey.slice(this.#prefix.length);
      // Under the key's lock, and through Keyv's get (which deletes what it finds expired): a value written meanwhile stays.
      if (await this.#locked('sweep', key, async () => (await this.#read(key)) === undefined)) removed += 1;
    }
    return removed;
  }

  /**
   * A full scan of the adapter's entries, each step under the deadline. A map
   * is one value here (`StoredMap`), so maps are listed with the values; an
   * entry counts when Keyv's own expiry has not passed and `get` would read it.
   */
  async #keysWithPrefix(prefix: string, limit: number): Promise<string[]> {
    const found: string[] = [];
    const entries = this.#rawEntries();
    if (!entries || limit <= 0) return found;
    const wanted = this.#prefix + prefix;
    for (;;) {
      // Ended early: the adapter may hold a cursor or a connection for the rest.
      if (found.length >= limit) {
        await entries.return?.();
        return found;
      }
      const next = await withDeadline('keysWithPrefix', this.#timeoutMs, () => entries.next());
      if (next.done) return found;
      const [fullKey, raw] = next.value;
      if (!fullKey.startsWith(wanted)) continue;
      const data = await this.#keyv.deserializeData(raw);
      if (typeof data?.value === 'string' && !isExpired(data)) found.push(fullKey.slice(this.#prefix.length));
    }
  }

  async close(): Promise<void> {
    try {
      await this.#keyv.disconnect();
    } catch (error) {
      // e.g. @keyv/mysql ends one pool shared by every adapter on the same URI: the second disconnect throws.
      this.#onError?.(error);
    }
  }

  /** Runs `task` under `key`'s lock, within the deadline; `inTime()` throws once the deadline has passed. */
  #locked<T>(operation: string, key: string, task: (inTime: () => void) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#timeoutMs;
    const inTime = () => {
      if (Date.now() >= deadline) throw new StoreUnavailableError(operation, { cause: new Error(`past its ${this.#timeoutMs} ms deadline, so nothing was written`), timedOut: true });
    };
    return withDeadline(operation, this.#timeoutMs, () =>
      this.#locks.run(`${this.#prefix}${key}`, () => {
        inTime();
        return task(inTime);
      }),
    );
  }

  async #read(key: string): Promise<string | undefined> {
    const value = await this.#keyv.get(key);
    return typeof value === 'string' ? value : undefined;
  }

  async #write(key: string, value: string, ttlMs: number, inTime: () => void): Promise<void> {
    inTime();
    // Keyv: 0 or undefined keeps the value; any other TTL is at least 1 ms, so a negative one expires at once.
    const written = await this.#keyv.set(key, value, ttlMs === 0 ? 0 : Math.max(1, Math.ceil(ttlMs)));
    if (written === false) throw new Error('the Keyv adapter reported that the write failed');
  }

  /** The adapter's raw entries (`[<prefix><key>, serialized]`), when Keyv can iterate it. */
  #rawEntries(): AsyncIterator<RawEntry> | undefined {
    if (this.#keyv.iterator === undefined) return undefined;
    const adapter = this.#keyv.store as Map<string, unknown> | { iterator(namespace?: string): AsyncIterator<RawEntry> };
    if (adapter instanceof Map) return (async function* () {
      yield* adapter.entries();
    })();
    return adapter.iterator(this.#keyv.namespace);
  }
}

/** Read by `ping`; never written. */
const PING_KEY = '__gatehouse_ping__';

/** Keyv's own rule (`Date.now() > expires`). */
const isExpired = (data: { expires?: number | null } | undefined) => typeof data?.expires === 'number' && Date.now() > data.expires;
