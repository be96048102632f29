import type { SessionStore } from '../session/sessionStore.js';
import { confirmAtEnd } from '../store/confirmAtEnd.js';
import type { LoginThrottle } from '../throttle/loginThrottle.js';
import { type Account, type AccountsAdapter, accountKeyOfUser, loginKeyOf } from './accountsAdapter.js';

/** What an administrator's action on an account needs. */
export interface AccountActionDeps<TUser extends { id: string }> {
  accounts: AccountsAdapter<TUser>;
  sessions: SessionStore;
  throttle: LoginThrottle;
}

export interface AccountActionResult<TUser extends { id: string }> {
  account: Account<TUser>;
  /** Live sessions of the user this action ended. */
  endedSessions: number;
}

/** The adapter has no method for this action. */
export class AccountActionUnsupportedError extends Error {
  override readonly name = 'AccountActionUnsupportedError';
  constructor(method: string) {
    super(`the accounts adapter has no ${method}() method`);
  }
}

function need<T>(method: T | undefined, name: string): T {
  if (!method) throw new AccountActionUnsupportedError(name);
  return method;
}

/**
 * Administrator actions on an account (ASVS 7.4.2, 7.4.5). Each is one
 * change through the accounts adapter that holds whatever ran meanwhile
 * (the built-in directory retries its conditional write on the latest
 * version), then ends every session of the user: sessions carry the user
 * they were started with, and a login that raced the change re-reads the
 * account once its session is indexed and gives it up. Used by the admin
 * procedures and `npm run users` alike. `undefined`: no such account.
 */
export const accountActions = {
  setRole<TUser extends { id: string }>(deps: AccountActionDeps<TUser>, account: Account<TUser>, role: string): Promise<AccountActionResult<TUser> | 'invalid-role' | undefined> {
    return confirmAtEnd(async (step) => {
      const updated = await step(need(deps.accounts.setRole, 'setRole').call(deps.accounts, account.user.id, role));
      if (updated === 'invalid-role' || updated === undefined) return updated;
      return { account: updated, endedSessions: await step(deps.sessions.removeAllForUser(account.user.id, undefined, 'role-change')) };
    });
  },

  /** A disabled account cannot log in (answered like a wrong password) and keeps no session. */
  disable<TUser extends { id: string }>(deps: AccountActionDeps<TUser>, account: Account<TUser>): Promise<AccountActionResult<TUser> | undefined> {
    return confirmAtEnd(async (step) => {
      const updated = await step(need(deps.accounts.setDisabled, 'setDisabled').call(deps.accounts, account.user.id, true));
      if (!updated) return undefined;
      return { account: updated, endedSessions: await step(deps.sessions.removeAllForUser(account.user.id, undefined, 'disabled')) };
    });
  },

  async enable<TUser extends { id: string }>(deps: AccountActionDeps<TUser>, account: Account<TUser>): Promise<AccountActionResult<TUser> | undefined> {
    const updated = await need(deps.accounts.setDisabled, 'setDisabled').call(deps.accounts, account.user.id, false);
    return updated ? { account: updated, endedSessions: 0 } : undefined;
  },

  /** Removes the account, every session of it and its login counters (`login`: the name it logged in with). */
  delete<TUser extends { id: string }>(deps: AccountActionDeps<TUser>, account: Account<TUser>, login: string): Promise<AccountActionResult<TUser> | undefined> {
    // Unconfirmed steps do not stop it: a deleted account must keep no session and no counters.
    return confirmAtEnd(async (step) => {
      // The account first: a login or password change racing the deletion then finds nothing to act on.
      if (!(await step(need(deps.accounts.delete, 'delete').call(deps.accounts, account.user.id)))) return undefined;
      const endedSessions = await step(deps.sessions.removeAllForUser(account.user.id, undefined, 'deleted'));
      await deps.throttle.forgetAccount([accountKeyOfUser(account.user.id), `name:${loginKeyOf(deps.accounts, login)}`]);
      return { account, endedSessions };
    });
  },

  async revokeSessions<TUser extends { id: string }>(deps: AccountActionDeps<TUser>, account: Account<TUser>): Promise<AccountActionResult<TUser>> {
    return { account, endedSessions: await deps.sessions.removeAllForUser(account.user.id, undefined, 'revoked') };
  },
};
