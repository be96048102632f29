import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type Role, roleSchema, type User } from '../../shared/user.js';
import type { KeyValueStore } from '../store/keyValueStore.js';

const userRecordSchema = z.object({
  id: z.string(),
  username: z.string(),
  role: roleSchema,
  passwordHash: z.string(),
  createdAt: z.number(),
});
export type UserRecord = z.infer<typeof userRecordSchema>;

/** The accounts port: the reference implementation keeps users in the session store's backend. */
export interface UserDirectory {
  /** Creates the user; `undefined` when the (case-insensitive) username is taken. */
  create(username: string, passwordHash: string, role?: Role): Promise<UserRecord | undefined>;
  findByUsername(username: string): Promise<UserRecord | undefined>;
  findById(id: string): Promise<UserRecord | undefined>;
  setPasswordHash(id: string, passwordHash: string): Promise<void>;
  setRole(id: string, role: Role): Promise<void>;
}

export const toPublicUser = (record: UserRecord): User => ({
  id: record.id,
  username: record.username,
  role: record.role,
});

const NO_EXPIRY = 0;
const nameKey = (username: string) => `user:name:${username.toLowerCase()}`;
const idKey = (id: string) => `user:id:${id}`;

/** Users in the same `KeyValueStore` as sessions, in their own key space. */
export class StoreUserDirectory implements UserDirectory {
  readonly #kv: KeyValueStore;

  constructor(kv: KeyValueStore) {
    this.#kv = kv;
  }

  async create(username: string, passwordHash: string, role: Role = 'user'): Promise<UserRecord | undefined> {
    const record: UserRecord = { id: randomUUID(), username: username.toLowerCase(), role, passwordHash, createdAt: Date.now() };
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
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  async setPasswordHash(id: string, passwordHash: string): Promise<void> {
    await this.#update(id, { passwordHash });
  }

  async setRole(id: string, role: Role): Promise<void> {
    await this.#update(id, { role });
  }

  async #update(id: string, change: Partial<UserRecord>): Promise<void> {
    const current = await this.findById(id);
    if (!current) throw new Error(`no user with id ${id}`);
    await this.#kv.set(idKey(id), JSON.stringify({ ...current, ...change }), NO_EXPIRY);
  }
}
