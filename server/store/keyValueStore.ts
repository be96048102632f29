/** A counter kept by `addToCounter`. */
export interface Counter {
  readonly count: number;
  /** Epoch ms when the window ends; 0 = never. */
  readonly expiresAt: number;
}

/**
 * How a write is to be acknowledged. `durable`: a security write (a logout,
 * a revocation, an account change, a generation bump, a device-credential
 * rotation) that must survive the loss of the server that took it: a store
 * that replicates (Redis with `waitReplicas`) answers only once its replicas
 * have it, and rejects with `StoreUnconfirmedError` (503, "not confirmed")
 * when they do not acknowledge in time. Stores that do not replicate take it
 * as a plain write. Session creation and idle extensions do not ask: losing
 * one signs a user out, it lets no one in.
 */
export interface WriteOptions {
  readonly durable?: boolean;
}

/** `{ durable: true }`: see `WriteOptions`. */
export const DURABLE: WriteOptions = Object.freeze({ durable: true });

/** The backends `SESSION_STORE_URL` can name, and `keyv` (any Keyv adapter, through `keyvStore`). */
export type StoreKind = 'memory' | 'sqlite' | 'redis' | 'postgres' | 'keyv';

/**
 * The storage port every Gatehouse component (sessions, accounts, throttling)
 * is written against. Values are opaque strings; every TTL is in
 * milliseconds. Every method rejects with `StoreUnavailableError` when the
 * backend fails or misses its deadline — never a silent `undefined`/`false`.
 * A write may ask to be durable (`WriteOptions`); implementations that have
 * nothing more to do for it may leave the parameter out.
 */
export interface KeyValueStore {
  readonly kind: StoreKind;
  /**
   * A limit of this store that whoever runs it must know, which
   * `createGatehouse` logs once as a warning when it starts on it: a
   * `keyvStore` says it is single-instance (its conditional writes are
   * atomic only inside one process). Unset on the stores that have none.
   */
  readonly startupWarning?: string;
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number, write?: WriteOptions): Promise<void>;
  /** Writes only when `key` is absent (or expired). Resolves true when it wrote. */
  add(key: string, value: string, ttlMs: number, write?: WriteOptions): Promise<boolean>;
  /** Writes only when `key` is present. Resolves true when it wrote. */
  replace(key: string, value: string, ttlMs: number, write?: WriteOptions): Promise<boolean>;
  /**
   * Writes `next` only when the live value at `key` is exactly `expected`.
   * Resolves true when it wrote. One atomic step on every backend (and
   * across processes on the shared ones): of two racing swaps from the same
   * `expected`, exactly one wins. Account changes are built on it (L10).
   */
  compareAndSet(key: string, expected: string, next: string, ttlMs: number, write?: WriteOptions): Promise<boolean>;
  /** Resolves true when it removed an entry: of two racing deletes, exactly one sees true. */
  delete(key: string, write?: WriteOptions): Promise<boolean>;
  /**
   * Removes the value at `key` and resolves what it held (`undefined`: no
   * live value), in one atomic step: of two racing takes, exactly one gets
   * the value, and no write can land between the read and the removal (a
   * logout that meets a rotation's tombstone learns where it points).
   */
  take(key: string, write?: WriteOptions): Promise<string | undefined>;
  /**
   * Adds one to the integer at `key` (missing: 0) in one atomic step and
   * resolves the new value. The entry never expires, and the write is as
   * durable as a delete: it is a per-user session generation, which ending
   * every session of a user bumps (L11).
   */
  increment(key: string, write?: WriteOptions): Promise<number>;
  /**
   * Adds `delta` to the counter at `key` in one atomic step (login throttling
   * across instances). A counter that is missing, or whose window ended
   * (`expiresAt <= nowMs`, the caller's clock), starts over at `delta` with
   * `expiresAt = nowMs + windowMs` (`windowMs` 0: it never ends) — except that
   * a `delta <= 0` on such a counter writes nothing and resolves
   * `{ count: 0, expiresAt: 0 }`. A live counter keeps its `expiresAt`. The
   * stored entry outlives `expiresAt` by a minute (the clock decides, the TTL
   * only cleans up). Stored as the string `<count>|<expiresAt>`, so `get` and
   * `set` read and overwrite it like any value.
   */
  addToCounter(key: string, delta: number, nowMs: number, windowMs: number): Promise<Counter>;
  /** Sets `field` of the map stored at `key`, extending its TTL to at least `ttlMs`. */
  mapSet(key: string, field: string, value: string, ttlMs: number, write?: WriteOptions): Promise<void>;
  mapDelete(key: string, field: string, write?: WriteOptions): Promise<void>;
  mapGetAll(key: string): Promise<Map<string, string>>;
  /**
   * Up to `limit` live keys (values and maps alike) that start with
   * `prefix`, in no particular order. For one-off upgrades at start-up
   * (finding what an earlier version wrote), never for a request: on Redis
   * it walks the keyspace with `SCAN`. A Keyv adapter without an iterator
   * leaves it out.
   */
  keysWithPrefix?(prefix: string, limit: number): Promise<string[]>;
  /** Cheap round trip for health checks. */
  ping(): Promise<void>;
  /** Removes expired entries the backend does not expire by itself; returns how many. */
  sweepExpired(limit: number): Promise<number>;
  close(): Promise<void>;
}
