import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type Role, roleSchema, type User } from '../../shared/user.js';
import { confirmAtEnd } from '../store/confirmAtEnd.js';
import { DURABLE, type KeyValueStore } from '../store/keyValueStore.js';

const userRecordSchema = z.object({
  id: z.string(),
  username: z.string(),
  role: roleSchema,
  passwordHash: z.string(),
  createdAt: z.number(),
  /** Bumped by every change: a write names the version it read, and loses if another change came first. */
  version: z.number().int().nonnegative().default(0),
  disabled: z.boolean().default(false),
});
export type UserRecord = Readonly<z.infer<typeof userRecordSchema>>;

/** What an account change may set; everything else is kept as it is in the store. */
export type AccountChange = Partial<Pick<UserRecord, 'passwordHash' | 'role' | 'disabled'>>;

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
const nameKey = (username: string) => `user:name:${username.toLowerCase()}`;
const idKey = (id: string) => `user:id:${id}`;

/** The stored text a record was read from: the conditional write compares against exactly that. */
const readAs = new WeakMap<UserRecord, string>();

/** Users in the same `KeyValueStore` as sessions, in their own key space. */
export class StoreUserDirectory implements UserDirectory {
  readonly #kv: KeyValueStore;

  constructor(kv: KeyValueStore) {
    this.#kv = kv;
  }

  async create(username: string, passwordHash: string, role: Role = 'user'): Promise<UserRecord | undefined> {
    const record: UserRecord = {
      id: randomUUID(),
      username: username.toLowerCase(),
      role,
      passwordHash,
      createdAt: Date.now(),
      version: 1,
      disabled: false,
    };
    // Write the full record first, then claim the name atomically: a lost race leaves only an orphan id record.
    await this.#kv.set(idKey(record.id), JSON.stringify(record), NO_EXPIRY);
    if (!(await this.#kv.add(nameKey(username), record.id, NO_EXPIRY))) {
      await this.#kv.delete(idKey(record.id));
      return undefined;
    }
    return record;
  }

  async findByUsername(username: string): Promise<UserRecord | undefined> {
    const id = await this.#kv.get(nameKey(username));
    return id === undefined ? undefined : this.findById(id);
  }

  async findById(id: string): Promise<UserRecord | undefined> {
    const raw = await this.#kv.get(idKey(id));
    if (raw === undefined) return undefined;
    try {
      const parsed = userRecordSchema.safeParse(JSON.parse(raw));
      if (!parsed.success) return undefined;
      const record = Object.freeze(parsed.data);
      readAs.set(record, raw);
      return record;
    } catch {
      return undefined;
    }
  }

  update(read: UserRecord, change: AccountChange): Promise<UserRecord | undefined> {
    // Unconfirmed by the replicas, the change was still written: the error carries the record as written.
    return confirmAtEnd(async (step) => {
      const raw = readAs.get(read);
      // A record this directory did not read (built by hand) has no stored text to compare with: read it now.
      const base = raw === undefined ? await this.findById(read.id) : read;
      if (!base || base.version !== read.version) return undefined;
      const next: UserRecord = { ...base, ...change, version: base.version + 1 };
      const text = JSON.stringify(next);
      // Durable: a password, role or disable change acknowledged must survive a failover (the old password would work again).
      if (!(await step(this.#kv.compareAndSet(idKey(read.id), readAs.get(base)!, text, NO_EXPIRY, DURABLE)))) return undefined;
      const frozen = Object.freeze(next);
      readAs.set(frozen, text);
      return frozen;
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
      // The record first: a password change or login racing the deletion then finds no account.
      const removed = await step(this.#kv.delete(idKey(id), DURABLE));
      // Only the name that still points at this account (a new account may not take it meanwhile: the name key exists until here).
      if ((await this.#kv.get(nameKey(current.username))) === id) await step(this.#kv.delete(nameKey(current.username), DURABLE));
      return removed;
    });
  }
}

/** An account kept changing under a retried update: the change did not happen. */
export class AccountContentionError extends Error {
  override readonly name = 'AccountContentionError';
  constructor(id: string) {
    super(`account ${id} changed ${MAX_ATTEMPTS} times while being updated; nothing was written`);
  }
}
