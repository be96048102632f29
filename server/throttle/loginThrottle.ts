import type { Clock } from '../clock.js';
import type { KeyValueStore } from '../store/keyValueStore.js';
import { FailureBackoff, type Reservation } from './failureBackoff.js';

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
  /**
   * No password was checked (the store failed before it could be): both keys
   * get the attempt back, as far as the store answers. Without this, every
   * login that met a partial outage (a cluster shard down, the counters' shard
   * up) stayed counted for the whole window, and after `perAccount` of them the
   * right password was refused with 429 until the window ended.
   */
  abandoned(): Promise<void>;
}

/** Throttles password guessing and mass registration. */
export interface LoginThrottle {
  /** Counts a login attempt for `loginKey` (see `loginKeyOf`) from `address`; when refused, nothing else needs calling. */
  beginLogin(loginKey: string, address: string): Promise<LoginAttempt>;
  /** Counts a signed-in user's password check (re-authentication, password change) for `userId` from `address`. */
  beginPasswordCheck(userId: string, address: string): Promise<LoginAttempt>;
  /** Counts a registration attempt from `address`; refused past the limit. */
  consumeRegistration(address: string): Promise<ThrottleVerdict>;
  /** Forgets an account's counters (the account was deleted): its login key's and its user id's. */
  forgetAccount(loginKey: string, userId: string): Promise<void>;
}

/**
 * How logins compare unless the accounts adapter says otherwise
 * (`AccountsAdapter.loginKey`): Unicode-normalized (NFKC), trimmed and
 * lower-cased, so `Alice@Shop.example`, `alice@shop.example` and a
 * full-width variant are one account's counter — right for adapters that
 * match logins case-insensitively, the common case. An adapter whose logins
 * compare otherwise must say how: with case-sensitive logins, `Bob` and `bob`
 * would share a counter here, and a success as one would reset the other's.
 */
export const defaultLoginKey = (login: string) => login.normalize('NFKC').trim().toLowerCase();

/** A login key's counter; a login key and a user id never share one. */
const loginCounterKey = (loginKey: string) => `name:${loginKey}`;
const userCounterKey = (userId: string) => `id:${userId}`;

export interface ThrottleLimits {
  perAccount: number;
  perAddress: number;
  registerPerAddress: number;
  windowMs: number;
}

const ALLOWED: ThrottleVerdict = { allowed: true, retryAfterSeconds: 0 };

const refused = (ms: number): ThrottleVerdict => ({ allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) });

/**
 * Login and registration throttling, counters kept in the shared store
 * (its atomic `addToCounter`) so every instance sees the same counts.
 *
 * - Per account (any address): `perAccount` failures in the window, then
 *   a doubling block capped at 15 minutes; a success resets it. Counted
 *   for unknown usernames too, so throttling reveals nothing about which
 *   accounts exist.
 * - Per client address: a high ceiling (`perAddress`; an office behind one
 *   NAT must keep working) against spraying many accounts. A success does
 *   not reset it: an attacker's own account must not launder the count.
 * - Registration: `registerPerAddress` per window per address.
 *
 * `Retry-After` says when an attempt can succeed: the end of a block, or a
 * second when the limit's worth of attempts is only in flight.
 */
export class StoreLoginThrottle implements LoginThrottle {
  readonly #byAccount: FailureBackoff;
  readonly #byAddress: FailureBackoff;
  readonly #store: KeyValueStore;
  readonly #clock: Clock;
  readonly #limits: ThrottleLimits;

  constructor(store: KeyValueStore, clock: Clock, limits: ThrottleLimits) {
    this.#byAccount = new FailureBackoff(store, clock, 'throttle:login:acct', limits.perAccount, limits.windowMs);
    this.#byAddress = new FailureBackoff(store, clock, 'throttle:login:addr', limits.perAddress, limits.windowMs);
    this.#store = store;
    this.#clock = clock;
    this.#limits = limits;
  }

  beginLogin(loginKey: string, address: string): Promise<LoginAttempt> {
    return this.#begin(loginCounterKey(loginKey), address);
  }

  beginPasswordCheck(userId: string, address: string): Promise<LoginAttempt> {
    return this.#begin(userCounterKey(userId), address);
  }

  async #begin(account: string, address: string): Promise<LoginAttempt> {
    const [byAccount, byAddress] = await reserveBoth([this.#byAccount, account], [this.#byAddress, address]);
    const noop = () => Promise.resolve();
    if (byAccount.refusedForMs > 0 || byAddress.refusedForMs > 0) {
      // A refused attempt checks no password: it neither counts nor extends a block.
      await Promise.all([giveBack(this.#byAccount, account, byAccount), giveBack(this.#byAddress, address, byAddress)]);
      return { ...refused(Math.max(byAccount.refusedForMs, byAddress.refusedForMs)), failed: noop, succeeded: noop, abandoned: noop };
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
      abandoned: async () => {
        // Best effort: the store is failing, and the request answers 503 whatever this gives.
        await Promise.allSettled([this.#byAccount.release(account), this.#byAddress.release(address)]);
      },
    };
  }

  async consumeRegistration(address: string): Promise<ThrottleVerdict> {
    const now = this.#clock.now();
    const counted = await this.#store.addToCounter(`throttle:register:addr:${address}`, 1, now, this.#limits.windowMs);
    return counted.count > this.#limits.registerPerAddress ? refused(counted.expiresAt - now) : ALLOWED;
  }

  async forgetAccount(loginKey: string, userId: string): Promise<void> {
    await Promise.all([this.#byAccount.reset(loginCounterKey(loginKey)), this.#byAccount.reset(userCounterKey(userId))]);
  }
}

/**
 * Reserves an attempt on both keys. When the store fails for one of them
 * (a partial outage: the two counters may live on different cluster shards),
 * the other's reservation is given back, as far as the store answers, before
 * the failure is passed on: the request answers 503 and leaves nothing counted.
 */
async function reserveBoth(first: [FailureBackoff, string], second: [FailureBackoff, string]): Promise<[Reservation, Reservation]> {
  const [a, b] = await Promise.allSettled([first[0].reserve(first[1]), second[0].reserve(second[1])]);
  if (a.status === 'fulfilled' && b.status === 'fulfilled') return [a.value, b.value];
  if (a.status === 'fulfilled') await giveBack(first[0], first[1], a.value).catch(() => undefined);
  if (b.status === 'fulfilled') await giveBack(second[0], second[1], b.value).catch(() => undefined);
  throw a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason;
}

/** Releases the half of a refused attempt that the other key had admitted. */
function giveBack(backoff: FailureBackoff, key: string, reservation: Reservation): Promise<void> {
  return reservation.refusedForMs === 0 ? backoff.release(key) : Promise.resolve();
}
