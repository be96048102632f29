import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Clock } from '../clock.js';
import type { KeyValueStore } from '../store/keyValueStore.js';
import { KeyValueRateLimiter } from './keyValueRateLimiter.js';

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

const ALLOWED: ThrottleVerdict = { allowed: true, retryAfterSeconds: 0 };
/** First block after the limit is reached; each further block of the same key doubles it. */
export const FIRST_BLOCK_MS = 60_000;
/** Longest one block can last, however many failures: an attacker cannot lock a victim out for good. */
export const MAX_BLOCK_MS = 15 * 60_000;
/** How long past blocks are remembered for the doubling. */
const STRIKE_MEMORY_SECONDS = 24 * 3600;

const refused = (msBeforeNext: number): ThrottleVerdict => ({
  allowed: false,
  retryAfterSeconds: Math.max(1, Math.ceil(msBeforeNext / 1000)),
});

/**
 * Failures of one key (an account or an address) counted in a fixed window;
 * reaching the limit blocks the key for a backoff that doubles with each
 * block (1 min, 2, 4, 8, then 15 min at most). Attempts refused during a
 * block are not counted and do not extend it, and once it ends the key gets
 * a fresh allowance: a lock-out always ends by itself.
 */
class FailureBackoff {
  readonly #failures: KeyValueRateLimiter;
  readonly #strikes: KeyValueRateLimiter;
  readonly #limit: number;

  constructor(store: KeyValueStore, clock: Clock, name: string, limit: number, windowMs: number) {
    this.#limit = limit;
    this.#failures = new KeyValueRateLimiter({ store, clock, keyPrefix: `${name}:fail`, points: limit, duration: Math.ceil(windowMs / 1000) });
    this.#strikes = new KeyValueRateLimiter({ store, clock, keyPrefix: `${name}:strike`, points: 1_000_000, duration: STRIKE_MEMORY_SECONDS });
  }

  /** Milliseconds the key is still blocked for, 0 when it is not. */
  async blockedFor(key: string): Promise<number> {
    const res = await this.#failures.get(key);
    return res && res.consumedPoints > this.#limit ? Math.max(res.msBeforeNext, 1) : 0;
  }

  async fail(key: string): Promise<void> {
    const res = await settle(this.#failures.penalty(key, 1));
    if (res.consumedPoints < this.#limit) return;
    const strikes = await settle(this.#strikes.penalty(key, 1));
    const blockMs = Math.min(MAX_BLOCK_MS, FIRST_BLOCK_MS * 2 ** Math.min(strikes.consumedPoints - 1, 20));
    await this.#failures.block(key, blockMs / 1000);
  }

  async reset(key: string): Promise<void> {
    await Promise.all([this.#failures.delete(key), this.#strikes.delete(key)]);
  }
}

/** The library rejects with a `RateLimiterRes` when over the limit; anything else (a store outage) is rethrown. */
async function settle(pending: Promise<RateLimiterRes>): Promise<RateLimiterRes> {
  try {
    return await pending;
  } catch (error) {
    if (error instanceof RateLimiterRes) return error;
    throw error;
  }
}

/**
 * Login and registration throttling with rate-limiter-flexible, counters
 * kept in the shared store so every instance sees the same counts.
 *
 * - Per account (any address): `perAccount` failures in the window, then
 *   a doubling block capped at 15 minutes; a success resets it. Counted
 *   for unknown usernames too, so throttling reveals nothing about which
 *   accounts exist.
 * - Per client address: a high ceiling (`perAddress`; an office behind one
 *   NAT must keep working) against spraying many accounts. A success does
 *   not reset it: an attacker's own account must not launder the count.
 * - Registration: `registerPerAddress` per window per address.
 */
export class StoreLoginThrottle implements LoginThrottle {
  readonly #byAccount: FailureBackoff;
  readonly #byAddress: FailureBackoff;
  readonly #registrations: KeyValueRateLimiter;

  constructor(store: KeyValueStore, clock: Clock, limits: ThrottleLimits) {
    this.#byAccount = new FailureBackoff(store, clock, 'login:acct', limits.perAccount, limits.windowMs);
    this.#byAddress = new FailureBackoff(store, clock, 'login:addr', limits.perAddress, limits.windowMs);
    this.#registrations = new KeyValueRateLimiter({
      store,
      clock,
      keyPrefix: 'register:addr',
      points: limits.registerPerAddress,
      duration: Math.ceil(limits.windowMs / 1000),
    });
  }

  async checkLogin(account: string, address: string): Promise<ThrottleVerdict> {
    const [accountMs, addressMs] = await Promise.all([this.#byAccount.blockedFor(account), this.#byAddress.blockedFor(address)]);
    const ms = Math.max(accountMs, addressMs);
    return ms > 0 ? refused(ms) : ALLOWED;
  }

  async recordLoginFailure(account: string, address: string): Promise<void> {
    await Promise.all([this.#byAccount.fail(account), this.#byAddress.fail(address)]);
  }

  async recordLoginSuccess(account: string): Promise<void> {
    await this.#byAccount.reset(account);
  }

  async consumeRegistration(address: string): Promise<ThrottleVerdict> {
    const res = await settle(this.#registrations.consume(address, 1));
    return res.consumedPoints > this.#registrations.points ? refused(res.msBeforeNext) : ALLOWED;
  }
}
