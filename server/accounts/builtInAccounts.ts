import { roleSchema, type User } from '../../shared/user.js';
import { confirmAtEnd } from '../store/confirmAtEnd.js';
import type { KeyValueStore } from '../store/keyValueStore.js';
import type { StoreSecretSource } from '../store/storeSecret.js';
import type { Account, AccountsAdapter } from './accountsAdapter.js';
import type { MigrationLog } from './legacyDirectory.js';
import type { PasswordHasher } from './passwordHasher.js';
import { StoreUserDirectory, toPublicUser, type UserDirectory, type UserRecord } from './userDirectory.js';

/** The built-in directory as an accounts adapter, with the directory itself for scripts (`npm run users`). */
export interface BuiltInAccounts extends Required<Omit<AccountsAdapter<User>, 'loginKey'>> {
  readonly directory: UserDirectory;
}

const accountOf = (record: UserRecord): Account<User> & { readonly record: UserRecord } => ({
  user: toPublicUser(record),
  version: record.version,
  disabled: record.disabled,
  record,
});

/**
 * Gatehouse's own accounts: usernames and argon2id hashes in the session
 * store's backend, sealed under the store's secret (`storeSecret`), every
 * change a conditional write on the account's version (L10). The default
 * when your definition keeps the built-in user. `log` hears of accounts an
 * earlier version wrote that could not be moved to the sealed keys.
 */
export function builtInAccounts(store: KeyValueStore, hasher: PasswordHasher, storeSecret: StoreSecretSource, log?: MigrationLog): BuiltInAccounts {
  const directory = new StoreUserDirectory(store, storeSecret, log);
  /** The directory's own record behind an account (read again when the account came from elsewhere). */
  const recordOf = async (account: Account<User>): Promise<UserRecord | undefined> => {
    const carried = (account as { record?: UserRecord }).record;
    if (carried && carried.version === account.version) return carried;
    const current = await directory.findById(account.user.id);
    return current?.version === account.version ? current : undefined;
  };
  return {
    directory,
    async authenticate(login, password) {
      const record = await directory.findByUsername(login);
      // An unknown user costs the same hash as a known one; a disabled one gets the same answer as a wrong password.
      const ok = record ? await hasher.verify(record.passwordHash, password) : await hasher.verifyDummy(password);
      return record && ok && !record.disabled ? accountOf(record) : undefined;
    },
    async findById(id) {
      const record = await directory.findById(id);
      return record ? accountOf(record) : undefined;
    },
    async findByLogin(login) {
      const record = await directory.findByUsername(login);
      return record ? accountOf(record) : undefined;
    },
    async register(login, password) {
      const created = await directory.create(login, await hasher.hash(password));
      return created ? accountOf(created) : 'taken';
    },
    async verifyPassword(account, password) {
      const record = await recordOf(account);
      return record !== undefined && !record.disabled && (await hasher.verify(record.passwordHash, password));
    },
    // Each change, unconfirmed by the replicas, still answers the account as written (in the error): the caller's later steps need it.
    changePassword(account, newPassword) {
      return confirmAtEnd(async (step) => {
        const passwordHash = await hasher.hash(newPassword);
        const record = await recordOf(account);
        const updated = record ? await step(directory.update(record, { passwordHash })) : undefined;
        return updated ? accountOf(updated) : 'conflict';
      });
    },
    setDisabled(id, disabled) {
      return confirmAtEnd(async (step) => {
        const updated = await step(directory.updateLatest(id, () => ({ disabled })));
        return updated ? accountOf(updated) : undefined;
      });
    },
    setRole(id, role) {
      return confirmAtEnd(async (step) => {
        const parsed = roleSchema.safeParse(role);
        if (!parsed.success) return 'invalid-role' as const;
        const updated = await step(directory.updateLatest(id, () => ({ role: parsed.data })));
        return updated ? accountOf(updated) : undefined;
      });
    },
    delete: (id) => directory.delete(id),
  };
}
