import type { StoreSecret } from '../store/storeSecret.js';
import { parseUserRecord, type UserRecord } from './userRecord.js';

/**
 * Where the built-in directory keeps an account, and how:
 * `an:<part>` (of the lower-cased login, `StoreSecret.keyOf`) holds the account's id and
 * `ai:<part>` (of the id) its record, each sealed with the store secret's sealer
 * and its own key as additional data (a value copied under another key
 * does not open). Neither a key nor a value shows a login, a user id or a
 * password hash, in a store dump or in a driver's trace of its commands.
 * The store's own secret seals them, not `SESSION_KEYS`: rotating those
 * keeps every account.
 */
export class DirectoryKeys {
  readonly #secret: StoreSecret;

  constructor(secret: StoreSecret) {
    this.#secret = secret;
  }

  /** Logins compare case-insensitively (lower-cased), as they always have. */
  nameKey(username: string): string {
    return this.#secret.keyOf('an', username.toLowerCase());
  }

  idKey(id: string): string {
    return this.#secret.keyOf('ai', id);
  }

  sealId(nameKey: string, id: string): string {
    return this.#secret.sealer.seal(id, nameKey);
  }

  /** The id the name key's value holds; `undefined` when it does not open (tampered, copied, another store's secret). */
  openId(nameKey: string, sealed: string): string | undefined {
    return this.#secret.sealer.open(sealed, nameKey)?.plaintext;
  }

  sealRecord(idKey: string, record: UserRecord): string {
    return this.#secret.sealer.seal(JSON.stringify(record), idKey);
  }

  /**
   * What a deleted account's id key holds for a day, on a store Gatehouse
   * 0.2 wrote: a move of that account from 0.2's keys that another process
   * had already begun (it read the old record before the account moved and
   * was deleted) meets it, and brings nothing back (`LegacyDirectory`).
   * Reads as no account.
   */
  static readonly DELETED = 'deleted';
  static readonly DELETED_TTL_MS = 86_400_000;

  /** The record the id key's value holds; `undefined` when it does not open or is no record. */
  openRecord(idKey: string, sealed: string): UserRecord | undefined {
    const opened = this.#secret.sealer.open(sealed, idKey);
    return opened === undefined ? undefined : parseUserRecord(opened.plaintext);
  }
}
