/** The backends `SESSION_STORE_URL` can name. */
export type StoreKind = 'memory' | 'sqlite' | 'redis' | 'postgres';

/**
 * The storage port every Gatehouse component (sessions, accounts, throttling)
 * is written against. Values are opaque strings; every TTL is in
 * milliseconds. Every method rejects with `StoreUnavailableError` when the
 * backend fails or misses its deadline — never a silent `undefined`/`false`.
 */
export interface KeyValueStore {
  readonly kind: StoreKind;
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Writes only when `key` is absent (or expired). Resolves true when it wrote. */
  add(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Writes only when `key` is present. Resolves true when it wrote. */
  replace(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Resolves true when it removed an entry: of two racing deletes, exactly one sees true. */
  delete(key: string): Promise<boolean>;
  /** Sets `field` of the map stored at `key`, extending its TTL to at least `ttlMs`. */
  mapSet(key: string, field: string, value: string, ttlMs: number): Promise<void>;
  mapDelete(key: string, field: string): Promise<void>;
  mapGetAll(key: string): Promise<Map<string, string>>;
  /** Cheap round trip for health checks. */
  ping(): Promise<void>;
  /** Removes expired entries the backend does not expire by itself; returns how many. */
  sweepExpired(limit: number): Promise<number>;
  close(): Promise<void>;
}
