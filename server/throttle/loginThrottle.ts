import type { Clock } from '../clock.js';
import type { KeyValueStore } from '../store/keyValueStore.js';

export interface ThrottleVerdict {
  allowed: boolean;
  /** Whole seconds until the next attempt may succeed (only when refused). */
  retryAfterSeconds: number;
}

/** Throttles password guessing and mass registration. */
export interface LoginThrottle {
  checkLogin(account: string, address: string): Promise<ThrottleVerdict>;
  recordLoginFailure(account: string, address: string): Promise<void>;
  recordLoginSuccess(account: string, address: string): Promise<void>;
  /** Counts a registration attempt from `address`; refused past the limit. */
  consumeRegistration(address: string): Promise<ThrottleVerdict>;
}

export interface ThrottleLimits {
  perAccount: number;
  perAddress: number;
  registerPerAddress: number;
  windowMs: number;
}

interface Counter {
  count: number;
  /** Window start; the counter resets `windowMs` after it. */
  since: number;
  /** Refused until this time (ms); grows with repeated failures past the limit. */
  blockedUntil: number;
}

const ALLOWED: ThrottleVerdict = { allowed: true, retryAfterSeconds: 0 };
/** Longest block one account can be put under, however many failures: no permanent lock-out. */
const MAX_BLOCK_MS = 15 * 60_000;

/**
 * Fixed-window failure counters kept in the shared store, so every instance
 * sees the same counts. Per account: after `perAccount` failures the account
 * is refused for a backoff that doubles with each further failure, capped at
 * 15 minutes; a success resets it. Per address: a high ceiling (an office
 * behind one NAT must keep working) against spraying many accounts.
 */
export class StoreLoginThrottle implements LoginThrottle {
  readonly #kv: KeyValueStore;
  readonly #clock: Clock;
  readonly #limits: ThrottleLimits;

  constructor(kv: KeyValueStore, clock: Clock, limits: ThrottleLimits) {
    this.#kv = kv;
    this.#clock = clock;
    this.#limits = limits;
  }

  async checkLogin(account: string, address: string): Promise<ThrottleVerdict> {
    const now = this.#clock.now();
    const [byAccount, byAddress] = await Promise.all([
      this.#read(`throttle:login:acct:${account}`, now),
      this.#read(`throttle:login:addr:${address}`, now),
    ]);
    const until = Math.max(byAccount.blockedUntil, byAddress.blockedUntil);
    return until > now ? { allowed: false, retryAfterSeconds: Math.ceil((until - now) / 1000) } : ALLOWED;
  }

  async recordLoginFailure(account: string, address: string): Promise<void> {
    await Promise.all([
      this.#fail(`throttle:login:acct:${account}`, this.#limits.perAccount),
      this.#fail(`throttle:login:addr:${address}`, this.#limits.perAddress),
    ]);
  }

  async recordLoginSuccess(account: string): Promise<void> {
    await this.#kv.delete(`throttle:login:acct:${account}`);
  }

  async consumeRegistration(address: string): Promise<ThrottleVerdict> {
    const key = `throttle:register:addr:${address}`;
    const now = this.#clock.now();
    const counter = await this.#read(key, now);
    if (counter.blockedUntil > now) {
      return { allowed: false, retryAfterSeconds: Math.ceil((counter.blockedUntil - now) / 1000) };
    }
    await this.#fail(key, this.#limits.registerPerAddress);
    return ALLOWED;
  }

  async #read(key: string, now: number): Promise<Counter> {
    const raw = await this.#kv.get(key);
    if (raw !== undefined) {
      try {
        const c = JSON.parse(raw) as Counter;
        if (typeof c.count === 'number' && now - c.since < this.#limits.windowMs + MAX_BLOCK_MS) return c;
      } catch {
        // A malformed counter counts as none.
      }
    }
    return { count: 0, since: now, blockedUntil: 0 };
  }

  async #fail(key: string, limit: number): Promise<void> {
    const now = this.#clock.now();
    let counter = await this.#read(key, now);
    if (now - counter.since >= this.#limits.windowMs && counter.blockedUntil <= now) {
      counter = { count: 0, since: now, blockedUntil: 0 };
    }
    counter.count += 1;
    if (counter.count >= limit) {
      const excess = counter.count - limit;
      const block = Math.min(MAX_BLOCK_MS, 1_000 * 2 ** Math.min(excess, 20));
      counter.blockedUntil = now + block;
    }
    await this.#kv.set(key, JSON.stringify(counter), this.#limits.windowMs + MAX_BLOCK_MS);
  }
}
