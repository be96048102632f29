import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Clock } from '../clock.js';
import type { KeyValueStore } from '../store/keyValueStore.js';
import { KeyValueRateLimiter } from './keyValueRateLimiter.js';

export interface ThrottleVerdict {
  allowed: boolean;
  /** Whole seconds until the next attempt may succeed (only when refused). */
  retryAfterSeconds: number;
}

/** One login attempt, counted before the password is checked so parallel guesses cannot slip past the limit. */
export interface LoginAttempt extends ThrottleVerdict {
  /** The password was wrong (or the user unknown): the attempt stays counted and may start a block. */
  failed(): Promise<void>;
  /** The password was right: the account's counter is reset and the address gets its attempt back. */
  succeeded(): Promise<void>;
}

/** Throttles password guessing and mass registration. */
export interface LoginThrottle {
  /** Counts an attempt for `account` from `address`; when refused, nothing else needs calling. */
  beginLogin(account: string, address: string): Promise<LoginAttempt>;
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
 * Failed attempts of one key (an account or an address) counted in a fixed
 * window; the attempt that reaches the limit blocks the key for a backoff
 * that doubles with each block (1 min, 2, 4, 8, then 15 min at most).
 * Attempts refused during a block are not counted and do not extend it, and
 * once it ends the key gets a fresh allowance: a lock-out always ends by
 * itself.
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

  /**
   * Counts an attempt up front. Resolves its number in the window, and the
   * milliseconds to wait when it is over the limit (a block, or too many
   * attempts in flight at once).
   */
  async reserve(key: string): Promise<{ count: number; refusedForMs: number }> {
    const res = await settle(this.#failures.penalty(key, 1));
    return { count: res.consumedPoints, refusedForMs: res.consumedPoints > this.#limit ? Math.max(res.msBeforeNext, 1) : 0 };
  }

  /** Gives a reserved attempt back (it was refused, or it succeeded). */
  async release(key: string): Promise<void> {
    await settle(this.#failures.reward(key, 1));
  }

  /** A reserved attempt failed; the one that reaches the limit starts the next, longer block. */
  async fail(key: string, count: number): Promise<void> {
    if (count !== this.#limit) return;
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

  async beginLogin(account: string, address: string): Promise<LoginAttempt> {
    const [byAccount, byAddress] = await Promise.all([this.#byAccount.reserve(account), this.#byAddress.reserve(address)]);
    const refusedForMs = Math.max(byAccount.refusedForMs, byAddress.refusedForMs);
    const noop = () => Promise.resolve();
    if (refusedForMs > 0) {
      // A refused attempt checks no password: it neither counts nor extends a block.
      await Promise.all([this.#byAccount.release(account), this.#byAddress.release(address)]);
      return { ...refused(refusedForMs), failed: noop, succeeded: noop };
    }
    return {
      ...ALLOWED,
      failed: async () => {
        await Promise.all([this.#byAccount.fail(account, byAccount.count), this.#byAddress.fail(address, byAddress.count)]);
      },
      succeeded: async () => {
        // The account starts afresh; the address only gets this attempt back, so an attacker's own account cannot launder it.
        await Promise.all([this.#byAccount.reset(account), this.#byAddress.release(address)]);
      },
    };
  }

  async consumeRegistration(address: string): Promise<ThrottleVerdict> {
    const res = await settle(this.#registrations.consume(address, 1));
    return res.consumedPoints > this.#registrations.points ? refused(res.msBeforeNext) : ALLOWED;
  }
}
