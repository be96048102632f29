import type { Logger } from 'pino';

/** Why a session ended. */
export type SessionEndReason =
  /** The user logged out (or revoked the session they were using). */
  | 'logout'
  /** Ended from another session of the user (`sessions.revoke`, `sessions.revokeOthers`) or by an administrator. */
  | 'revoked'
  /** The user's password changed: every other session ends. */
  | 'password-change'
  /** The idle or absolute timeout passed (seen when the session was next read or listed). */
  | 'expired'
  /** A new login went past the per-user session cap: the least recently used session ends. */
  | 'cap'
  /** The account was disabled. */
  | 'disabled'
  /** The account was deleted. */
  | 'deleted'
  /** The user's role changed: sessions carry the role they started with. */
  | 'role-change'
  /** This session's own change lost a race to another change of the account, and ended it. */
  | 'conflict'
  /** A "stay signed in" credential of the user was replayed (copied): every session and device credential ended. */
  | 'credential-replayed';

interface EventBase {
  /** Your user's id. */
  readonly userId: string;
  /** The session's public id (as `sessions.list` shows it): never the cookie or the store key. */
  readonly sessionId: string;
  /** Epoch ms, from Gatehouse's clock. */
  readonly at: number;
}

/** What a session-events hook receives, for audit logs. */
export type SessionEvent =
  | (EventBase & { readonly type: 'created' })
  | (EventBase & { readonly type: 'rotated'; readonly previousSessionId: string })
  | (EventBase & { readonly type: 'refreshed'; readonly previousSessionId: string })
  | (EventBase & { readonly type: 'ended'; readonly reason: SessionEndReason })
  /**
   * A "stay signed in" credential was presented after the series had moved
   * past it while its successor was in use: it was copied. Every session and
   * device credential of the user ended (each reported `ended` with reason
   * `credential-replayed`). `sessionId` is the device's id as `sessions.list`
   * showed it. Alert on this one.
   */
  | (EventBase & { readonly type: 'device-credential-replayed' });

export type SessionEventHook = (event: SessionEvent) => void | Promise<void>;
export type SessionEventSink = (event: SessionEvent) => void;

/**
 * The team's hook, run after the request's own work (on the next turn of
 * the event loop): it can neither block nor break a request. A hook that
 * throws or rejects is logged and forgotten.
 */
export function sessionEventSink(hook: SessionEventHook | undefined, logger: Logger): SessionEventSink {
  if (!hook) return () => undefined;
  const failed = (error: unknown) => logger.error({ err: error, event: 'session_event_hook.failed' }, 'the session event hook failed');
  return (event) => {
    setImmediate(() => {
      try {
        const result = hook(Object.freeze(event));
        if (result && typeof (result as Promise<void>).then === 'function') (result as Promise<void>).catch(failed);
      } catch (error) {
        failed(error);
      }
    });
  };
}
