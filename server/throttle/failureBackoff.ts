import type { Clock } from '../clock.js';
import { COUNTER_TTL_SLACK_MS, encodeCounter, parseCounter } from '../store/counter.js';
import type { KeyValueStore } from '../store/keyValueStore.js';

/** First block after the limit is reached; each further block of the same key doubles it. */
export const FIRST_BLOCK_MS = 60_000;
/** Longest one block can last, however many failures: an attacker cannot lock a victim out for good. */
export const MAX_BLOCK_MS = 15 * 60_000;
/** How long past blocks are remembered for the doubling. */
const STRIKE_MEMORY_MS = 24 * 3_600_000;
/**
 * The wait to announce when an attempt is refused only because the limit's
 * worth of attempts is in flight right now (no block yet): they finish
 * within a password hash, so a retry a second later can succeed.
 */
export const IN_FLIGHT_RETRY_MS = 1_000;

export interface Reservation {
  /** This attempt's number in the window (only when admitted). */
  readonly count: number;
  /** 0 when admitted; otherwise how long until an attempt can succeed. */
  readonly refusedForMs: number;
}

/**
 * Failed attempts of one key (an account or an address) counted in a fixed
 * window with the store's atomic counter, so every instance sees every
 * attempt and parallel guesses cannot slip past the limit. The attempt
 * that reaches the limit blocks the key for a backoff that doubles with
 * each block (1 min, 2, 4, 8, then 15 min at most). Attempts refused during
 * a block are not counted and do not extend it, and once it ends the key
 * gets a fresh allowance: a lock-out always ends by itself.
 *
 * Keys: `<prefix>:fail:<key>` (the window's count), `<prefix>:block:<key>`
 * (`<strikes>|<until>`), `<prefix>:strikes:<key>` (blocks in the last day).
 * `key` goes into the store key as given: the caller passes a key part
 * (`StoreSecret.part`), never a login, a user id or an address.
 */
export class FailureBackoff {
  readonly #store: KeyValueStore;
  readonly #clock: Clock;
  readonly #prefix: string;
  readonly #limit: number;
  readonly #windowMs: number;

  constructor(store: KeyValueStore, clock: Clock, prefix: string, limit: number, windowMs: number) {
    this.#store = store;
    this.#clock = clock;
    this.#prefix = prefix;
    this.#limit = limit;
    this.#windowMs = windowMs;
  }

  /** Counts an attempt up front, unless the key is blocked or the limit's worth of attempts is already counted. */
  async reserve(key: string): Promise<Reservation> {
    const now = this.#clock.now();
    const block = parseCounter(await this.#store.get(this.#key('block', key)), now);
    if (block && block.expiresAt > 0) return { count: 0, refusedForMs: block.expiresAt - now };
    const counted = await this.#store.addToCounter(this.#key('fail', key), 1, now, this.#windowMs);
    if (counted.count <= this.#limit) return { count: counted.count, refusedForMs: 0 };
    // Over the limit without a block: the other attempts are still being checked. Give this one back.
    await this.release(key);
    return { count: 0, refusedForMs: IN_FLIGHT_RETRY_MS };
  }

  /** Gives a reserved attempt back (it succeeded, or the other key refused it). */
  async release(key: string): Promise<void> {
    await this.#store.addToCounter(this.#key('fail', key), -1, this.#clock.now(), this.#windowMs);
  }

  /** A reserved attempt failed; the one that reached the limit starts the next, longer block. */
  async fail(key: string, count: number): Promise<void> {
    if (count !== this.#limit) return;
    const now = this.#clock.now();
    const strikes = await this.#store.addToCounter(this.#key('strikes', key), 1, now, STRIKE_MEMORY_MS);
    const blockMs = Math.min(MAX_BLOCK_MS, FIRST_BLOCK_MS * 2 ** Math.min(strikes.count - 1, 20));
    const until = now + blockMs;
    await this.#store.set(this.#key('block', key), encodeCounter({ count: strikes.count, expiresAt: until }), blockMs + COUNTER_TTL_SLACK_MS);
    // The block is in place before the count goes: the key's next allowance starts when the block ends.
    await this.#store.delete(this.#key('fail', key));
  }

  /** Forgets the key's failures and past blocks (a correct password for the account; a deleted account). */
  async reset(key: string): Promise<void> {
    await Promise.all([
      this.#store.delete(this.#key('fail', key)),
      this.#store.delete(this.#key('strikes', key)),
      this.#store.delete(this.#key('block', key)),
    ]);
  }

  #key(kind: 'fail' | 'block' | 'strikes', key: string): string {
    return `${this.#prefix}:${kind}:${key}`;
  }
}
