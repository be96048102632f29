import type { KeyValueStore } from '../../server/store/keyValueStore.js';

/**
 * A key space of its own inside `store`: every key gets `prefix` in front
 * (and loses it again in a key listing), so several scenarios share one
 * backend's namespace without meeting. `close` leaves `store` open.
 */
export function prefixedStore(store: KeyValueStore, prefix: string): KeyValueStore {
  const listing = store.keysWithPrefix?.bind(store);
  return {
    kind: store.kind,
    get: (key) => store.get(prefix + key),
    set: (key, value, ttlMs, write) => store.set(prefix + key, value, ttlMs, write),
    add: (key, value, ttlMs, write) => store.add(prefix + key, value, ttlMs, write),
    replace: (key, value, ttlMs, write) => store.replace(prefix + key, value, ttlMs, write),
    compareAndSet: (key, expected, next, ttlMs, write) => store.compareAndSet(prefix + key, expected, next, ttlMs, write),
    delete: (key, write) => store.delete(prefix + key, write),
    take: (key, write) => store.take(prefix + key, write),
    increment: (key, write) => store.increment(prefix + key, write),
    addToCounter: (key, delta, nowMs, windowMs) => store.addToCounter(prefix + key, delta, nowMs, windowMs),
    mapSet: (key, field, value, ttlMs, write) => store.mapSet(prefix + key, field, value, ttlMs, write),
    mapDelete: (key, field, write) => store.mapDelete(prefix + key, field, write),
    mapGetAll: (key) => store.mapGetAll(prefix + key),
    ...(listing ? { keysWithPrefix: async (start: string, limit: number) => (await listing(prefix + start, limit)).map((key) => key.slice(prefix.length)) } : {}),
    ping: () => store.ping(),
    sweepExpired: (limit) => store.sweepExpired(limit),
    close: () => Promise.resolve(),
  };
}

/** `store` as a store that cannot list its keys (a Keyv adapter without an iterator). */
export function withoutListing(store: KeyValueStore): KeyValueStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'keysWithPrefix') return undefined;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
