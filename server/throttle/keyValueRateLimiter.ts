import { createRequire } from 'node:module';
import { RateLimiterRes, type RateLimiterStoreAbstract as StoreAbstractType } from 'rate-limiter-flexible';
import type { Clock } from '../clock.js';
import type { KeyValueStore } from '../store/keyValueStore.js';
import { KeyedMutex } from '../store/keyedMutex.js';

export interface KeyValueRateLimiterOptions {
  store: KeyValueStore;
  clock: Clock;
  /** Namespaces the counters (`rl:<keyPrefix>:<key>`). */
  keyPrefix: string;
  points: number;
  /** Window length in seconds; 0 means the counter never expires. */
  duration: number;
}

interface StoredCounter {
  points: number;
  /** Epoch ms from the injected clock; 0 = no expiry. */
  expiresAt: number;
}

// The library's documented base for store-backed limiters ("any new limiter with storage must
// be extended from RateLimiterStoreAbstract") is not re-exported by its index; load it by path.
const RateLimiterStoreAbstract = createRequire(import.meta.url)(
  'rate-limiter-flexible/lib/RateLimiterStoreAbstract.js',
) as typeof StoreAbstractType;

/** The store keeps a counter a little past its logical expiry; the clock decides, the TTL only cleans up. */
const TTL_SLACK_MS = 60_000;
const NO_EXPIRY_TTL_MS = 0;

/**
 * rate-limiter-flexible's store limiter over Gatehouse's `KeyValueStore`
 * port: counters live in the configured store (memory, SQLite, Redis,
 * PostgreSQL), so every instance sees the same counts, and store outages
 * surface as `StoreUnavailableError` (a 503, never a silent pass). Time
 * comes from the injected clock so tests move it instead of sleeping.
 *
 * The port has no atomic increment, so an update is read-modify-write,
 * serialised per key inside this process. Across instances two concurrent
 * failures can count once: an attacker gains at most one guess per
 * instance per race, which the backoff still bounds.
 */
export class KeyValueRateLimiter extends RateLimiterStoreAbstract {
  readonly #store: KeyValueStore;
  readonly #clock: Clock;
  readonly #mutex = new KeyedMutex();

  constructor(options: KeyValueRateLimiterOptions) {
    super({
      storeClient: options.store,
      keyPrefix: `rl:${options.keyPrefix}`,
      points: options.points,
      duration: options.duration,
      // The library's in-memory block is per process and reads Date.now(); the store is the one truth.
      inMemoryBlockOnConsumed: 0,
    });
    this.#store = options.store;
    this.#clock = options.clock;
  }

  /** Called by the library for consume/penalty/reward (add `points`) and block/set (`forceExpire`: overwrite). */
  _upsert(rlKey: string, points: number, msDuration: number, forceExpire = false): Promise<StoredCounter> {
    return this.#mutex.run(rlKey, async () => {
      const now = this.#clock.now();
      const current = forceExpire ? undefined : await this.#read(rlKey, now);
      // Giving points back to a counter that already expired leaves nothing to give back to.
      if (!current && !forceExpire && points < 0) return { points: 0, expiresAt: 0 };
      const next: StoredCounter = current
        ? { points: current.points + points, expiresAt: current.expiresAt }
        : { points, expiresAt: msDuration > 0 ? now + msDuration : 0 };
      const ttl = next.expiresAt > 0 ? next.expiresAt - now + TTL_SLACK_MS : NO_EXPIRY_TTL_MS;
      await this.#store.set(rlKey, JSON.stringify(next), ttl);
      return next;
    });
  }

  _get(rlKey: string): Promise<StoredCounter | null> {
    return this.#read(rlKey, this.#clock.now()).then((counter) => counter ?? null);
  }

  async _delete(rlKey: string): Promise<boolean> {
    await this.#store.delete(rlKey);
    return true;
  }

  _getRateLimiterRes(_rlKey: string, changedPoints: number, counter: StoredCounter): RateLimiterRes {
    const msBeforeNext = counter.expiresAt > 0 ? Math.max(0, counter.expiresAt - this.#clock.now()) : -1;
    return new RateLimiterRes(
      Math.max(0, this.points - counter.points),
      msBeforeNext,
      counter.points,
      counter.points === changedPoints,
    );
  }

  async #read(rlKey: string, now: number): Promise<StoredCounter | undefined> {
    const raw = await this.#store.get(rlKey);
    if (raw === undefined) return undefined;
    try {
      const counter = JSON.parse(raw) as Partial<StoredCounter>;
      if (typeof counter.points !== 'number' || typeof counter.expiresAt !== 'number') return undefined;
      if (counter.expiresAt > 0 && counter.expiresAt <= now) return undefined;
      return { points: counter.points, expiresAt: counter.expiresAt };
    } catch {
      // A malformed counter counts as none.
      return undefined;
    }
  }
}
