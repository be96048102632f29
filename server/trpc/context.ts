import type { Logger } from 'pino';
import type { User } from '../../shared/user.js';
import type { AccountsAdapter } from '../accounts/accountsAdapter.js';
import type { Clock } from '../clock.js';
import type { Frozen } from '../session/frozen.js';
import type { SessionHandle } from '../session/sessionHandle.js';
import type { SessionStore } from '../session/sessionStore.js';
import type { LoginThrottle } from '../throttle/loginThrottle.js';

/** Long-lived collaborators of the built-in procedures. */
export interface Services<TUser extends { id: string } = User> {
  /** Your user table (or the built-in directory). */
  readonly accounts: AccountsAdapter<TUser>;
  readonly sessions: SessionStore;
  readonly throttle: LoginThrottle;
  /** How recent a login `freshProcedure` asks for, in ms. */
  readonly freshLoginWindowMs: number;
  /** A login's tag for the logs (a keyed MAC): failed and throttled logins are logged with it, never with the login. */
  readonly loginLogTag: (login: string) => string;
}

/** The names Gatehouse's part of the context uses: a team's own context may not take them. */
export const RESERVED_CONTEXT_KEYS = ['session', 'user', 'clock', 'requestId', 'clientAddress', 'log', 'services'] as const;

/**
 * What every procedure gets from Gatehouse: a typed session handle and
 * the user it belongs to (`null` when signed out), a clock, the request's
 * id and client address, a logger — never the raw Koa context.
 */
export interface GatehouseBaseContext<TUser extends { id: string } = User, TData extends object = Record<never, never>, TDataInput = TData> {
  readonly session: SessionHandle<TUser, TData, TDataInput>;
  /** The session's user (frozen, so deeply read-only), or `null` when signed out. */
  readonly user: Frozen<TUser> | null;
  readonly clock: Clock;
  readonly requestId: string;
  readonly clientAddress: string;
  readonly log: Logger;
  readonly services: Services<TUser>;
}

/** Gatehouse's context plus the team's own fields (`initGatehouse({ context })`). */
export type GatehouseContext<
  TUser extends { id: string } = User,
  TData extends object = Record<never, never>,
  TExtra extends object = Record<never, never>,
  TDataInput = TData,
> = GatehouseBaseContext<TUser, TData, TDataInput> & TExtra;

/** The user part of the current session, if any. */
export function userOf<TUser extends { id: string }, TData extends object, TDataInput>(session: SessionHandle<TUser, TData, TDataInput>): Frozen<TUser> | null {
  return session.current?.user ?? null;
}
