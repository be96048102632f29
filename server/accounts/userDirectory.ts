import { randomUUID } from 'node:crypto';
import { type Role, type User } from '../../shared/user.js';
import { confirmAtEnd } from '../store/confirmAtEnd.js';
import { DURABLE, type KeyValueStore } from '../store/keyValueStore.js';
import type { StoreSecretSource } from '../store/storeSecret.js';
import { DirectoryKeys } from './directoryKeys.js';
import { LEGACY_MOVED_KEY, LegacyDirectory, leftInPlace, type MigrationLog } from './legacyDirectory.js';
import type { AccountChange, UserRecord } from './userRecord.js';

export type { AccountChange, UserRecord } from './userRecord.js';

/** The accounts port: the reference implementation keeps users in the session store's backend. */
export interface UserDirectory {
  /** Creates the user; `undefined` when the (case-insensitive) username is taken. */
  create(username: string, passwordHash: string, role?: Role): Promise<UserRecord | undefined>;
  findByUsername(username: string): Promise<UserRecord | undefined>;
  findById(id: string): Promise<UserRecord | undefined>;
  /**
   * Applies `change` to the account as it was when `read` was read, in one
   * conditional write. Resolves the new record, or `undefined` (nothing
   * written) when the account changed or went in between: two changes to
   * one user can never both succeed, and none writes back a field it did
   * not mean to change (L10).
   */
  update(read: UserRecord, change: AccountChange): Promise<UserRecord | undefined>;
  /**
   * Applies `change(current)` to the latest version of the account, reading
   * again when another change wins the race (an administrator's intent,
   * such as "the role is now user", holds whatever ran meanwhile).
   * `undefined` when there is no such account.
   */
  updateLatest(id: string, change: (current: UserRecord) => AccountChange): Promise<UserRecord | undefined>;
  /** Removes the account (its record and its name). Resolves whether it existed. */
  delete(id: string): Promise<boolean>;
}

export const toPublicUser = (record: UserRecord): User => ({
  id: record.id,
  username: record.username,
  role: record.role,
});

const NO_EXPIRY = 0;
/** A conditional write retried this often under contention before the change is reported as failed. */
const MAX_ATTEMPTS = 10;
const SILENT: MigrationLog = { warn: () => undefined };

/** The stored (sealed) text a record was read from: the conditional write compares against exactly that. */
const readAs = new WeakMap<UserRecord, string>();

/** The directory's keys under the store's secret, and what 0.2 left to move (only on a store it wrote). */
interface Opened {
  readonly keys: DirectoryKeys;
  /** Set while accounts may still be under 0.2's keys in this process's view (a store that cannot list its keys). */
  readonly legacy: LegacyDirectory | undefined;
  /** Gatehouse 0.2 wrote this store: another process may be moving an account right now. */
  readonly legacyStore: boolean;
}

/**
 * Users in the same `KeyValueStore` as sessions, in their own key space,
 * sealed (`DirectoryKeys`): no login, user id or password hash in a key
 * or a value. A record that does not open or parse reads as no account,
 * and is never deleted.
 *
 * On a store Gatehouse 0.2 wrote (the store secret's `legacyUntil` is set),
 * the first use in each process moves every account 0.2 kept in the clear
 * to the sealed keys (`LegacyDirectory`); concurrent callers wait for it,
 * and a move the store failed is tried again at the next use. Any account
 * still under the old keys (a store that cannot list its keys, an instance
 * still on 0.2 during a rolling upgrade) is moved when it is first asked
 * for.
 */
export class StoreUserDirectory implements UserDirectory {
  readonly #kv: KeyValueStore;
  readonly #secret: StoreSecretSource;
  readonly #log: MigrationLog;
  #opened: Promise<Opened> | undefined;

  /** `log`: where accounts that could not be moved from 0.2's keys are reported. */
  constructor(kv: KeyValueStore, secret: StoreSecretSource, log: MigrationLog = SILENT) {
    this.#kv = kv;
    this.#secret = secret;
    this.#log = log;
  }

  async create(username: string, passwordHash: string, role: Role = 'user'): Promise<UserRecord | undefined> {
    const { keys, legacy } = await this.#open();
    // A login 0.2 wrote is still taken: moved first, the claim below meets it; left in place, it stays taken.
    if (legacy && leftInPlace(await legacy.moveName(username))) return undefined;
    const record: UserRecord = Object.freeze({
      id: randomUUID(),
      username: username.toLowerCase(),
      role,
      passwordHash,
      createdAt: Date.now(),
      version: 1,
      disabled: false,
    });
    const idKey = keys.idKey(record.id);
    const nameKey = keys.nameKey(username);
    const text = keys.sealRecord(idKey, record);
    // Write the full record first, then claim the name atomically: a lost race leaves only an orphan id record.
    await this.#kv.set(idKey, text, NO_EXPIRY);
    const claim = keys.sealId(nameKey, record.id);
    if (!(await this.#kv.add(nameKey, claim, NO_EXPIRY)) && !(await this.#takeOverDeadName(keys, nameKey, claim))) {
      await this.#kv.delete(idKey);
      return undefined;
    }
    readAs.set(record, text);
    return record;
  }

  async findByUsername(username: string): Promise<UserRecord | undefined> {
    const opened = await this.#open();
    const nameKey = opened.keys.nameKey(username);
    let sealed = await this.#kv.get(nameKey);
    if (sealed === undefined && opened.legacy && (await opened.legacy.moveName(username)) === 'moved') sealed = await this.#kv.get(nameKey);
    const id = sealed === undefined ? undefined : opened.keys.openId(nameKey, sealed);
    return id === undefined ? undefined : this.#findById(opened, id);
  }

  async findById(id: string): Promise<UserRecord | undefined> {
    return this.#findById(await this.#open(), id);
  }

  async #findById({ keys, legacy }: Opened, id: string): Promise<UserRecord | undefined> {
    const idKey = keys.idKey(id);
    let sealed = await this.#kv.get(idKey);
    if (sealed === undefined && legacy && (await legacy.moveId(id)) === 'moved') sealed = await this.#kv.get(idKey);
    if (sealed === undefined) return undefined;
    const record = keys.openRecord(idKey, sealed);
    // A record under another id's key (copied there) is not this account.
    if (!record || record.id !== id) return undefined;
    readAs.set(record, sealed);
    return record;
  }

  update(read: UserRecord, change: AccountChange): Promise<UserRecord | undefined> {
    // Unconfirmed by the replicas, the change was still written: the error carries the record as written.
    return confirmAtEnd(async (step) => {
      const opened = await this.#open();
      const raw = readAs.get(read);
      // A record this directory did not read (built by hand) has no stored text to compare with: read it now.
      const base = raw === undefined ? await this.#findById(opened, read.id) : read;
      if (!base || base.version !== read.version) return undefined;
      const next: UserRecord = Object.freeze({ ...base, ...change, version: base.version + 1 });
      const idKey = opened.keys.idKey(read.id);
      const text = opened.keys.sealRecord(idKey, next);
      // Durable: a password, role or disable change acknowledged must survive a failover (the old password would work again).
      if (!(await step(this.#kv.compareAndSet(idKey, readAs.get(base)!, text, NO_EXPIRY, DURABLE)))) return undefined;
      readAs.set(next, text);
      return next;
    });
  }

  updateLatest(id: string, change: (current: UserRecord) => AccountChange): Promise<UserRecord | undefined> {
    return confirmAtEnd(async (step) => {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
        const current = await this.findById(id);
        if (!current) return undefined;
        const updated = await step(this.update(current, change(current)));
        if (updated) return updated;
      }
      throw new AccountContentionError(id);
    });
  }

  delete(id: string): Promise<boolean> {
    // An unconfirmed delete of the record does not leave the name key behind (the name could never be registered again).
    return confirmAtEnd(async (step) => {
      const current = await this.findById(id);
      if (!current) return false;
      const opened = await this.#open();
      const idKey = opened.keys.idKey(id);
      // The record first: a password change or login racing the deletion then finds no account. On a store 0.2
      // wrote, a mark that it was deleted instead, for a day: a move from 0.2's keys already under way elsewhere
      // (it read the account before this process moved it) meets it and brings nothing back.
      const removed = opened.legacyStore
        ? (await step(this.#kv.set(idKey, DirectoryKeys.DELETED, DirectoryKeys.DELETED_TTL_MS, DURABLE)), true)
        : await step(this.#kv.delete(idKey, DURABLE));
      // Where accounts move one at a time (no key listing), one whose move stopped half-way left its 0.2 record:
      // it goes too, or a later lookup of the id would move it back.
      if (opened.legacy) await opened.legacy.forget(current);
      // Only the name that still points at this account (a new account may not take it meanwhile: the name key exists until here).
      const nameKey = opened.keys.nameKey(current.username);
      const held = await this.#kv.get(nameKey);
      if (held !== undefined && opened.keys.openId(nameKey, held) === id) await step(this.#kv.delete(nameKey, DURABLE));
      return removed;
    });
  }

  /**
   * Whether `claim` replaced a login key that names no account: every
   * writer puts an account's record before its login, and a deletion takes
   * the record first, so a login whose record is gone (or marked deleted)
   * was left by a deletion or a move that stopped half-way, and would keep
   * the login taken for ever. Replaced only if it still holds what was read.
   * A record that does not open keeps its login: it may be an account.
   */
  async #takeOverDeadName(keys: DirectoryKeys, nameKey: string, claim: string): Promise<boolean> {
    const held = await this.#kv.get(nameKey);
    if (held === undefined) return this.#kv.add(nameKey, claim, NO_EXPIRY);
    const heldId = keys.openId(nameKey, held);
    if (heldId === undefined) return false;
    const record = await this.#kv.get(keys.idKey(heldId));
    if (record !== undefined && record !== DirectoryKeys.DELETED) return false;
    return this.#kv.compareAndSet(nameKey, held, claim, NO_EXPIRY);
  }

  /** The keys under the store's secret, once 0.2's accounts are moved (at the first use; a failure is retried at the next). */
  #open(): Promise<Opened> {
    this.#opened ??= this.#prepare().catch((error: unknown) => {
      this.#opened = undefined;
      throw error;
    });
    return this.#opened;
  }

  async #prepare(): Promise<Opened> {
    const secret = await this.#secret();
    const keys = new DirectoryKeys(secret);
    if (secret.legacyUntil === 0) return { keys, legacy: undefined, legacyStore: false };
    const legacy = new LegacyDirectory(this.#kv, keys, this.#log);
    // Without a key listing (a Keyv adapter without an iterator), each account moves when it is first asked for,
    // for as long as the store lives: such a store's lookups of an unknown login name it in a key.
    if (!this.#kv.keysWithPrefix) return { keys, legacy, legacyStore: true };
    // With one, the first process moves them all and says so in the store: from then on no process looks for
    // 0.2's keys (no request names a login in a key again, and no start walks the keyspace again).
    if ((await this.#kv.get(LEGACY_MOVED_KEY)) === undefined) {
      await legacy.moveAll((prefix, limit) => this.#kv.keysWithPrefix!(prefix, limit));
      await this.#kv.set(LEGACY_MOVED_KEY, '1', 0);
    }
    return { keys, legacy: undefined, legacyStore: true };
  }
}

/** An account kept changing under a retried update: the change did not happen. */
export class AccountContentionError extends Error {
  override readonly name = 'AccountContentionError';
  constructor(id: string) {
    super(`account ${id} changed ${MAX_ATTEMPTS} times while being updated; nothing was written`);
  }
}
