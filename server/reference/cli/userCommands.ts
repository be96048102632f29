import { type AccountActionDeps, accountActions, type BuiltInAccounts, passwordSchema, roleSchema, type User, usernameSchema } from '../../index.js';

export interface UserCommandDeps extends AccountActionDeps<User> {
  /** The reference server's accounts: Gatehouse's built-in directory. */
  accounts: BuiltInAccounts;
  /** The new user's password (read from stdin by the entry, never from argv where `ps` shows it). */
  readPassword: () => Promise<string>;
}

/** A mistake of the operator: printed as is, exit code 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `Usage: npm run users -- <command>

  create <username> [--admin]       create a user; the password is read from stdin
  set-role <username> <user|admin>  change a user's role (ends their sessions so it takes effect)
  disable <username>                refuse the user's logins and end their sessions
  enable <username>                 allow a disabled user to log in again
  delete <username>                 delete the user, their sessions and login counters
  revoke-sessions <username>        end every session of a user

The store is the one SESSION_STORE_URL names (with SESSION_STORE_NAMESPACE and SESSION_KEYS).
Example: printf '%s\\n' 'a long password' | npm run users -- create alice --admin`;

const parse = <T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { message: string }[] } } }, value: unknown): T => {
  const result = schema.safeParse(value);
  if (!result.success) throw new UsageError(result.error.issues.map((i) => i.message).join('; '));
  return result.data;
};

/** Runs one `npm run users` command; resolves the line to print. */
export async function runUserCommand(argv: readonly string[], deps: UserCommandDeps): Promise<string> {
  const [command, ...args] = argv;
  switch (command) {
    case 'create': {
      const username = parse(usernameSchema, args[0]);
      const password = parse(passwordSchema, await deps.readPassword());
      const created = await deps.accounts.register(username, password);
      if (created === 'taken') throw new UsageError(`user "${username}" already exists`);
      const account = args.includes('--admin') ? await deps.accounts.setRole(created.user.id, 'admin') : created;
      if (!account || account === 'invalid-role') throw new UsageError(`user "${username}" went away while being created`);
      return `created user ${account.user.username} (${account.user.role})`;
    }
    case 'set-role': {
      const account = await existing(deps, args[0]);
      const role = parse(roleSchema, args[1]);
      const result = await accountActions.setRole(deps, account, role);
      if (result === 'invalid-role' || !result) throw new UsageError(`no user "${account.user.username}"`);
      return `${result.account.user.username} is now ${result.account.user.role}; ended ${result.endedSessions} session(s)`;
    }
    case 'disable': {
      const result = mustExist(await accountActions.disable(deps, await existing(deps, args[0])), args[0]);
      return `${result.account.user.username} is disabled; ended ${result.endedSessions} session(s)`;
    }
    case 'enable': {
      const result = mustExist(await accountActions.enable(deps, await existing(deps, args[0])), args[0]);
      return `${result.account.user.username} is enabled`;
    }
    case 'delete': {
      const account = await existing(deps, args[0]);
      const result = mustExist(await accountActions.delete(deps, account, account.user.username), args[0]);
      return `deleted ${result.account.user.username}; ended ${result.endedSessions} session(s)`;
    }
    case 'revoke-sessions': {
      const result = await accountActions.revokeSessions(deps, await existing(deps, args[0]));
      return `ended ${result.endedSessions} session(s) of ${result.account.user.username}`;
    }
    default:
      throw new UsageError(command ? `unknown command "${command}"\n\n${USAGE}` : USAGE);
  }
}

async function existing(deps: UserCommandDeps, name: string | undefined) {
  const username = parse(usernameSchema, name);
  const account = await deps.accounts.findByLogin(username);
  if (!account) throw new UsageError(`no user "${username}"`);
  return account;
}

/** The account went between reading it and acting on it (deleted by someone else meanwhile). */
function mustExist<T>(result: T | undefined, username: string | undefined): T {
  if (result === undefined) throw new UsageError(`no user "${username ?? ''}"`);
  return result;
}
