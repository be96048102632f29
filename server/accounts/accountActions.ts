import type { Role } from '../../shared/user.js';
import type { SessionStore } from '../session/sessionStore.js';
import type { LoginThrottle } from '../throttle/loginThrottle.js';
import type { UserDirectory, UserRecord } from './userDirectory.js';

/** What an administrator's action on an account needs. */
export interface AccountActionDeps {
  users: UserDirectory;
  sessions: SessionStore;
  throttle: LoginThrottle;
}

export interface AccountActionResult {
  user: UserRecord;
  /** Live sessions of the user this action ended. */
  endedSessions: number;
}

/**
 * Administrator actions on an account (ASVS 7.4.2, 7.4.5). Each is one
 * conditional write that holds whatever ran meanwhile (a password change,
 * another administrator), then ends every session of the user: sessions
 * carry the role and state they were started with, and a login that raced
 * the change re-reads the account and gives its session up (authRouter).
 * Used by the admin procedures and `npm run users` alike.
 */
export const accountActions = {
  async setRole(deps: AccountActionDeps, user: UserRecord, role: Role): Promise<AccountActionResult | undefined> {
    return changeThenEndSessions(deps, user.id, () => ({ role }));
  },

  /** A disabled account cannot log in (answered like a wrong password) and keeps no session. */
  async disable(deps: AccountActionDeps, user: UserRecord): Promise<AccountActionResult | undefined> {
    return changeThenEndSessions(deps, user.id, () => ({ disabled: true }));
  },

  async enable(deps: AccountActionDeps, user: UserRecord): Promise<AccountActionResult | undefined> {
    const updated = await deps.users.updateLatest(user.id, () => ({ disabled: false }));
    return updated ? { user: updated, endedSessions: 0 } : undefined;
  },

  /** Removes the account, every session of it and its login counters from the store. */
  async delete(deps: AccountActionDeps, user: UserRecord): Promise<AccountActionResult | undefined> {
    // The account first: a login or password change racing the deletion then finds nothing to act on.
    if (!(await deps.users.delete(user.id))) return undefined;
    const endedSessions = await deps.sessions.removeAllForUser(user.id);
    await deps.throttle.forgetAccount(user.username);
    return { user, endedSessions };
  },

  async revokeSessions(deps: AccountActionDeps, user: UserRecord): Promise<AccountActionResult> {
    return { user, endedSessions: await deps.sessions.removeAllForUser(user.id) };
  },
};

async function changeThenEndSessions(
  deps: AccountActionDeps,
  id: string,
  change: Parameters<UserDirectory['updateLatest']>[1],
): Promise<AccountActionResult | undefined> {
  const updated = await deps.users.updateLatest(id, change);
  if (!updated) return undefined;
  // After the write: a session started before it (even by a login still in flight) is in the index by now.
  return { user: updated, endedSessions: await deps.sessions.removeAllForUser(id) };
}
