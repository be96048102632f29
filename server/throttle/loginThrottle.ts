import type { Clock } from '../clock.js';
import { parseCounter } from '../store/counter.js';
import type { KeyValueStore } from '../store/keyValueStore.js';
import type { StoreSecret, StoreSecretSource } from '../store/storeSecret.js';
import { addressKey } from './addressKey.js';
import { DeviceMarkers } from './deviceMarkers.js';
import { FailureBackoff, type Reservation } from './failureBackoff.js';
import type { ThrottleReason } from '../telemetry/telemetry.js';

export interface ThrottleVerdict {
  allowed: boolean;
  /** Whole seconds until the next attempt may succeed (only when refused). */
  retryAfterSeconds: number;
  /** Which limit refused it (only when refused), for the metrics: never the key itself. */
  refusedBy?: ThrottleReason;
}

/** One login attempt, counted before the password is checked so parallel guesses cannot slip past the limit. */
export interface LoginAttempt extends ThrottleVerdict {
  /** The password was wrong (or the user unknown): the attempt stays counted and may start a block. */
  failed(): Promise<void>;
  /** The password was right: the account's (or known browser's) counter is reset and the address gets its attempt back. */
  succeeded(): Promise<void>;
  /**
   * No password was checked (the store failed before it could be): both keys
   * get the attempt back, as far as the store answers. Without this, every
   * login that met a partial outage (a cluster shard down, the counters' shard
   * up) stayed counted for the whole window, and after `perAccount` of them the
   * right password was refused with 429 until the window ended.
   */
  abandoned(): Promise<void>;
  /** The known-device markers the client should keep after this login succeeded: a fresh one for this account first. */
  markersAfterSuccess(): readonly string[];
}

/** Throttles password guessing and mass registration. */
export interface LoginThrottle {
  /**
   * Counts a login attempt for the account `accountKey` names (`accountKeyOf`)
   * from `address`. `markers`: the known-device markers the client presented;
   * one earned for this account counts the attempt on that browser instead of
   * on the account (an attacker hammering the account does not lock its owner
   * out). When refused, nothing else needs calling.
   */
  beginLogin(accountKey: string, address: string, markers?: readonly string[]): Promise<LoginAttempt>;
  /** Counts a signed-in session's password check (re-authentication, password change), per session: one stolen cookie's guesses never block the owner's other sessions or logins. */
  beginPasswordCheck(sessionKey: string, address: string): Promise<LoginAttempt>;
  /** Counts a registration attempt from `address`; refused past the limit. */
  consumeRegistration(address: string): Promise<ThrottleVerdict>;
  /** Forgets an account's counters (the account was deleted). */
  forgetAccount(accountKeys: readonly string[]): Promise<void>;
  /** A login met a store failure before it could be counted (resolving its account): for the metrics, which count it as `store_unavailable`. */
  failedBeforeCounting?(): void;
}

/**
 * How logins compare unless the accounts adapter says otherwise
 * (`AccountsAdapter.loginKey`), for logins that resolve to no account:
 * Unicode-normalized (NFKC), trimmed and lower-cased.
 */
export const defaultLoginKey = (login: string) => login.normalize('NFKC').trim().toLowerCase();

export interface ThrottleLimits {
  perAccount: number;
  perAddress: number;
  registerPerAddress: number;
  windowMs: number;
}

/** Refused attempts an address may send in a window, as a multiple of its limit of failures. */
export const REFUSAL_BUDGET_FACTOR = 10;

const ALLOWED: ThrottleVerdict = { allowed: true, retryAfterSeconds: 0 };

const refused = (ms: number, refusedBy: ThrottleReason): ThrottleVerdict => ({ allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)), refusedBy });

const noop = () => Promise.resolve();

/**
 * Login and registration throttling, counters kept in the shared store
 * (its atomic `addToCounter`) so every instance sees the same counts.
 *
 * - Per account (any address): `perAccount` failures in the window, then
 *   a doubling block capped at 15 minutes; a success resets it. The account
 *   is the one the login resolves to (its id), so two accounts the adapter
 *   keeps apart never share a counter; a login that resolves to none is
 *   counted under its login key, so throttling reveals nothing about which
 *   accounts exist.
 * - Per known browser (a marker it earned by signing in to this account):
 *   its own `perAccount` failures instead of the account's. An attacker
 *   hammering the account from elsewhere does not lock its owner out.
 * - Per client address (IPv6 by its /64): a high ceiling (`perAddress`; an
 *   office behind one NAT must keep working) against spraying many
 *   accounts. A success does not reset it: an attacker's own account must
 *   not launder the count. A refused attempt is not counted there (it
 *   checked no password) but costs the address one unit of its refusal
 *   budget (`REFUSAL_BUDGET_FACTOR` × `perAddress` a window): an address
 *   that keeps hammering a blocked account blocks itself, so its first
 *   attempts after a block cannot start the next one.
 * - Per session, for a signed-in user's own password checks.
 * - Registration: `registerPerAddress` per window per address.
 *
 * `Retry-After` says when an attempt can succeed: the end of a block, or a
 * second when the limit's worth of attempts is only in flight.
 *
 * No counter's store key names an account, a login, a session's user or an
 * address: each goes through the store secret's `part` (a keyed MAC), so a
 * store dump or a driver's trace of its commands shows none of them. A
 * known browser's counter is keyed by its marker's random nonce.
 */
export class StoreLoginThrottle implements LoginThrottle {
  readonly #byAccount: FailureBackoff;
  readonly #byDevice: FailureBackoff;
  readonly #byAddress: FailureBackoff;
  readonly #bySession: FailureBackoff;
  readonly #devices: DeviceMarkers;
  readonly #store: KeyValueStore;
  readonly #secret: StoreSecretSource;
  readonly #clock: Clock;
  readonly #limits: ThrottleLimits;

  constructor(store: KeyValueStore, secret: StoreSecretSource, clock: Clock, limits: ThrottleLimits, keys: readonly string[]) {
    this.#byAccount = new FailureBackoff(store, clock, 'throttle:login:acct', limits.perAccount, limits.windowMs);
    this.#byDevice = new FailureBackoff(store, clock, 'throttle:login:device', limits.perAccount, limits.windowMs);
    this.#byAddress = new FailureBackoff(store, clock, 'throttle:login:addr', limits.perAddress, limits.windowMs);
    this.#bySession = new FailureBackoff(store, clock, 'throttle:password:session', limits.perAccount, limits.windowMs);
    // The markers MAC the account key itself (in memory only), so the markers browsers already hold stay valid.
    this.#devices = new DeviceMarkers(keys);
    this.#store = store;
    this.#secret = secret;
    this.#clock = clock;
    this.#limits = limits;
  }

  async beginLogin(accountKey: string, address: string, markers: readonly string[] = []): Promise<LoginAttempt> {
    const secret = await this.#secret();
    const device = this.#devices.recognise(markers, accountKey);
    const attempt = await this.#begin(
      secret,
      device === undefined ? [this.#byAccount, secret.part(accountKey), 'account'] : [this.#byDevice, device, 'device'],
      address,
    );
    return {
      ...attempt,
      // A known browser's success resets its own counter only: the account's stays as the attacker left it (a
      // reset there would hand whoever hammers it a fresh allowance of guesses every time the owner signs in).
      markersAfterSuccess: () =>
        DeviceMarkers.merged(this.#devices.issue(accountKey), markers, (marker) => this.#devices.recognise([marker], accountKey) !== undefined),
    };
  }

  async beginPasswordCheck(sessionKey: string, address: string): Promise<LoginAttempt> {
    const secret = await this.#secret();
    return this.#begin(secret, [this.#bySession, secret.part(sessionKey), 'session'], address);
  }

  /** `key`: the counter's key part, already through `part` (or a marker's random nonce). */
  async #begin(secret: StoreSecret, [backoff, key, keyReason]: [FailureBackoff, string, ThrottleReason], rawAddress: string): Promise<LoginAttempt> {
    const address = secret.part(addressKey(rawAddress));
    const overBudget = await this.#refusalBudgetSpentFor(address);
    if (overBudget > 0) {
      await this.#chargeRefusal(address);
      return { ...refused(overBudget, 'refusal_budget'), failed: noop, succeeded: noop, abandoned: noop, markersAfterSuccess: () => [] };
    }
    const [byKey, byAddress] = await reserveBoth([backoff, key], [this.#byAddress, address]);
    if (byKey.refusedForMs > 0 || byAddress.refusedForMs > 0) {
      // A refused attempt checks no password: it neither counts nor extends a block, but it spends the address's refusal budget.
      await Promise.all([giveBack(backoff, key, byKey), giveBack(this.#byAddress, address, byAddress), this.#chargeRefusal(address)]);
      const refusedBy = byKey.refusedForMs >= byAddress.refusedForMs ? keyReason : 'address';
      return { ...refused(Math.max(byKey.refusedForMs, byAddress.refusedForMs), refusedBy), failed: noop, succeeded: noop, abandoned: noop, markersAfterSuccess: () => [] };
    }
    return {
      ...ALLOWED,
      failed: async () => {
        await Promise.all([backoff.fail(key, byKey.count), this.#byAddress.fail(address, byAddress.count)]);
      },
      succeeded: async () => {
        // The key starts afresh; the address only gets this attempt back, so an attacker's own account cannot launder it.
        await Promise.all([backoff.reset(key), this.#byAddress.release(address)]);
      },
      abandoned: async () => {
        // Best effort: the store is failing, and the request answers 503 whatever this gives.
        await Promise.allSettled([backoff.release(key), this.#byAddress.release(address)]);
      },
      markersAfterSuccess: () => [],
    };
  }

  /** How long the address stays refused for having spent its refusal budget in this window (0: it has not). */
  async #refusalBudgetSpentFor(address: string): Promise<number> {
    const now = this.#clock.now();
    const spent = parseCounter(await this.#store.get(refusalKey(address)), now);
    return spent && spent.count >= this.#limits.perAddress * REFUSAL_BUDGET_FACTOR ? spent.expiresAt - now : 0;
  }

  async #chargeRefusal(address: string): Promise<void> {
    await this.#store.addToCounter(refusalKey(address), 1, this.#clock.now(), this.#limits.windowMs);
  }

  async consumeRegistration(rawAddress: string): Promise<ThrottleVerdict> {
    const address = (await this.#secret()).part(addressKey(rawAddress));
    const now = this.#clock.now();
    const counted = await this.#store.addToCounter(`throttle:register:addr:${address}`, 1, now, this.#limits.windowMs);
    return counted.count > this.#limits.registerPerAddress ? refused(counted.expiresAt - now, 'registration') : ALLOWED;
  }

  async forgetAccount(accountKeys: readonly string[]): Promise<void> {
    const secret = await this.#secret();
    await Promise.all(accountKeys.map((key) => this.#byAccount.reset(secret.part(key))));
  }
}

/** `address`: the address's key part (`part(addressKey(…))`). */
const refusalKey = (address: string) => `throttle:login:refused:${address}`;

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
