import { defaultLoginKey } from '../throttle/loginThrottle.js';

/**
 * An account as Gatehouse's built-in procedures see it: your user (what a
 * session holds, validated by your user schema), a version that changes
 * with every change to the account, and whether it is disabled.
 */
export interface Account<TUser extends { id: string }> {
  readonly user: TUser;
  /** Changes whenever the account changes (compared with `===`): a login that raced a change notices. */
  readonly version: string | number;
  readonly disabled?: boolean;
}

/**
 * Your user table, for Gatehouse's built-in `auth.*`, `sessions.*` and
 * `admin.*` procedures. Only `authenticate` and `findById` are required;
 * a built-in procedure whose method is missing answers 501
 * NOT_IMPLEMENTED. Gatehouse's own argon2id directory (`builtInAccounts`)
 * is the default and implements all of it.
 */
export interface AccountsAdapter<TUser extends { id: string }> {
  /**
   * Checks a login and its password: the account, or `undefined` for an
   * unknown login, a wrong password or a disabled account — in the same
   * time for each (verify against a dummy hash for unknown logins), so
   * neither answer nor timing tells which accounts exist.
   */
  authenticate(login: string, password: string): Promise<Account<TUser> | undefined>;
  /** The account of a user id, or `undefined` when it is gone. Read again after a login, to catch a change that raced it. */
  findById(id: string): Promise<Account<TUser> | undefined>;
  /** Creates an account (`auth.register`); `'taken'` when the login is in use. */
  register?(login: string, password: string): Promise<Account<TUser> | 'taken'>;
  /** Checks the password of a signed-in user (`auth.reauthenticate`, `auth.changePassword`). */
  verifyPassword?(account: Account<TUser>, password: string): Promise<boolean>;
  /**
   * Sets a new password only if the account is still at `account.version`
   * (one conditional write); `'conflict'`, with nothing written, if not.
   */
  changePassword?(account: Account<TUser>, newPassword: string): Promise<Account<TUser> | 'conflict'>;
  /** An account by its login, for `admin.*`. */
  findByLogin?(login: string): Promise<Account<TUser> | undefined>;
  /** Disables or enables the account, whatever changed meanwhile; `undefined` when it is gone. */
  setDisabled?(id: string, disabled: boolean): Promise<Account<TUser> | undefined>;
  /** Gives the account a role, whatever changed meanwhile; `undefined` when it is gone, `'invalid-role'` for a role you do not have. */
  setRole?(id: string, role: string): Promise<Account<TUser> | 'invalid-role' | undefined>;
  /** Removes the account; resolves whether it existed. */
  delete?(id: string): Promise<boolean>;
  /**
   * How your logins compare, for the per-account login throttle: two logins
   * that name one account must give the same key, two accounts never one.
   * Default: NFKC-normalized, trimmed, lower-cased (logins that ignore
   * case). Give this when yours compare otherwise: case-sensitive logins
   * (`login => login`), or a database collation that also ignores accents.
   */
  loginKey?(login: string): string;
}

/** The throttle key of a login, as the adapter compares logins. */
export function loginKeyOf(accounts: Pick<AccountsAdapter<{ id: string }>, 'loginKey'>, login: string): string {
  return accounts.loginKey ? accounts.loginKey(login) : defaultLoginKey(login);
}

/**
 * The login throttle's idea of one account, which must be the adapter's: the
 * account a login resolves to (`findByLogin`), by its id — so two accounts
 * the adapter keeps apart never share a counter, and a success as one never
 * resets the other's — or, for a login that resolves to none (or an adapter
 * without `findByLogin`), its login key.
 */
export async function accountKeyOf(accounts: Pick<AccountsAdapter<{ id: string }>, 'findByLogin' | 'loginKey'>, login: string): Promise<string> {
  const account = accounts.findByLogin ? await accounts.findByLogin(login) : undefined;
  return account ? accountKeyOfUser(account.user.id) : `name:${loginKeyOf(accounts, login)}`;
}

/** The throttle key of an account the login resolved to. */
export const accountKeyOfUser = (userId: string) => `acct:${userId}`;

/**
 * The user of an account as sessions should carry it now (a rotation reads
 * it, so a rotated session never keeps a stale role): `undefined` when the
 * account is gone or disabled.
 */
export function userSourceOf<TUser extends { id: string }>(accounts: Pick<AccountsAdapter<TUser>, 'findById'>): (userId: string) => Promise<TUser | undefined> {
  return async (userId) => {
    const account = await accounts.findById(userId);
    return account && !account.disabled ? account.user : undefined;
  };
}
