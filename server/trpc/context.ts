import type { Logger } from 'pino';
import type { PasswordHasher } from '../accounts/passwordHasher.js';
import type { UserDirectory } from '../accounts/userDirectory.js';
import type { Clock } from '../clock.js';
import type { SessionHandle, SessionUser } from '../session/requestSession.js';
import type { SessionStore } from '../session/sessionStore.js';
import type { LoginThrottle } from '../throttle/loginThrottle.js';

/** Long-lived collaborators the procedures use. */
export interface Services {
  readonly users: UserDirectory;
  readonly hasher: PasswordHasher;
  readonly sessions: SessionStore;
  readonly throttle: LoginThrottle;
}

/**
 * What every procedure gets: a typed session handle and the user it belongs
 * to, a clock, the request's id and client address, a logger — never the
 * raw Koa context.
 */
export interface GatehouseContext {
  readonly session: SessionHandle;
  readonly user: SessionUser | null;
  readonly clock: Clock;
  readonly requestId: string;
  readonly clientAddress: string;
  readonly log: Logger;
  readonly services: Services;
}

/** The user part of the current session, if any. */
export function userOf(session: SessionHandle): SessionUser | null {
  const current = session.current;
  if (!current) return null;
  const { uid, username, role } = current.record;
  return { id: uid, username, role };
}
