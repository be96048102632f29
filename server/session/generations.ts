import type { Clock } from '../clock.js';
import { confirmAtEnd } from '../store/confirmAtEnd.js';
import { parseInteger } from '../store/counter.js';
import { DURABLE, type KeyValueStore } from '../store/keyValueStore.js';
import type { StoreSecretSource } from '../store/storeSecret.js';

/**
 * Where this version's generations start: a generation is `GENERATION_ERA + n`,
 * `n` the counter at `sg:<part>` (`StoreSecret.keyOf`). Anything below it was made by an
 * earlier version (0.2), whose counter was `g:<userId>`: a record or device
 * credential says by its own `gen` which counter it answers to.
 */
export const GENERATION_ERA = 2 ** 40;

/** What an earlier version's generation reads as once its window is over: no record's `gen`, so none matches. */
const ENDED_ERA = -1;

const legacyKeyOf = (userId: string) => `g:${userId}`;

/**
 * The users' session generations (L11): a counter per user that every
 * "end all sessions of this user" moves, under a key that names the user
 * only through the store secret. During the store secret's legacy window
 * the earlier version's counters are kept moving too, so what that version
 * started is judged by the counter it was started under; after the window
 * it is never read or written again, and what it started never matches
 * (nothing it started can still be live by then: the window outlasts a
 * session's absolute timeout and a device credential's lifetime).
 */
export class Generations {
  readonly #kv: KeyValueStore;
  readonly #secret: StoreSecretSource;
  readonly #clock: Clock;

  constructor(kv: KeyValueStore, secret: StoreSecretSource, clock: Clock) {
    this.#kv = kv;
    this.#secret = secret;
    this.#clock = clock;
  }

  /**
   * The user's generation in the era of `like` (the `gen` of the record or
   * credential being checked; left out: this version's era, for something
   * about to be made).
   */
  async of(userId: string, like?: number): Promise<number> {
    const secret = await this.#secret();
    if (like !== undefined && like < GENERATION_ERA) {
      return secret.readsLegacyAt(this.#clock.now()) ? parseInteger(await this.#kv.get(legacyKeyOf(userId))) : ENDED_ERA;
    }
    return GENERATION_ERA + parseInteger(await this.#kv.get(secret.keyOf('sg', userId)));
  }

  /**
   * Moves the user's generation (durably: a lost bump would let a racing
   * session live on) and resolves the new one; during the legacy window the
   * earlier version's counter moves with it, in parallel.
   */
  advance(userId: string): Promise<number> {
    // A flow of its own: unconfirmed, the error carries the generation as this returns it, not the raw counter.
    return confirmAtEnd(async (step) => {
      const secret = await this.#secret();
      const current = step(this.#kv.increment(secret.keyOf('sg', userId), DURABLE));
      const legacy = secret.readsLegacyAt(this.#clock.now()) ? step(this.#kv.increment(legacyKeyOf(userId), DURABLE)) : undefined;
      const [n] = await Promise.all([current, legacy]);
      return GENERATION_ERA + n;
    });
  }
}
