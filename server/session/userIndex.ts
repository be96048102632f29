import type { Clock } from '../clock.js';
import type { KeyValueStore } from '../store/keyValueStore.js';
import type { SecretKind, StoreSecretSource } from '../store/storeSecret.js';

/**
 * One kind of per-user index (a store map: the user's sessions, or their
 * remembered devices), under a key that names the user only through the
 * store secret (`StoreSecret.keyOf(prefix, userId)`): a store dump, or a driver's
 * trace of its commands, shows no user id.
 *
 * A store an earlier version (0.2) wrote keeps that version's index
 * (`legacyKeyOf(userId)`, the id in the clear) until the store secret's
 * legacy window ends: until then every read takes both maps (in parallel)
 * and merges them, and every delete goes to both, so a session started
 * before the upgrade is still listed, capped and revoked. New entries go to
 * the new map only. After the window the old key is never read or written.
 */
export class UserIndex {
  readonly #kv: KeyValueStore;
  readonly #secret: StoreSecretSource;
  readonly #clock: Clock;
  readonly #prefix: SecretKind & ('si' | 'di');
  readonly #legacyKeyOf: (userId: string) => string;

  constructor(kv: KeyValueStore, secret: StoreSecretSource, clock: Clock, prefix: SecretKind & ('si' | 'di'), legacyKeyOf: (userId: string) => string) {
    this.#kv = kv;
    this.#secret = secret;
    this.#clock = clock;
    this.#prefix = prefix;
    this.#legacyKeyOf = legacyKeyOf;
  }

  /** Every entry of the user's index (field → value); during the legacy window, the earlier version's entries too. */
  async getAll(userId: string): Promise<Map<string, string>> {
    const [current, legacy] = await this.#keysOf(userId);
    if (legacy === undefined) return this.#kv.mapGetAll(current);
    const [fresh, old] = await Promise.all([this.#kv.mapGetAll(current), this.#kv.mapGetAll(legacy)]);
    // A field is in one map only (new entries never go to the old one); should both hold it, the new one is the truth.
    return new Map([...old, ...fresh]);
  }

  /** Adds an entry (to the new map only), extending the map's TTL to at least `ttlMs`. */
  async set(userId: string, field: string, value: string, ttlMs: number): Promise<void> {
    const [current] = await this.#keysOf(userId);
    await this.#kv.mapSet(current, field, value, ttlMs);
  }

  /** Removes an entry from the user's index, wherever it is. */
  async delete(userId: string, field: string): Promise<void> {
    await Promise.all((await this.#keysOf(userId)).map((key) => this.#kv.mapDelete(key, field)));
  }

  /** The new key, and the earlier version's while its window lasts. */
  async #keysOf(userId: string): Promise<[string] | [string, string]> {
    const secret = await this.#secret();
    const current = secret.keyOf(this.#prefix, userId);
    return secret.readsLegacyAt(this.#clock.now()) ? [current, this.#legacyKeyOf(userId)] : [current];
  }
}
