import type { SessionView } from '../../shared/session.js';
import type { SessionCarrier } from '../session/sessionRecord.js';
import { deviceLabelOf } from './deviceLabel.js';

/** The parts of a session its owner may see. */
export interface ViewableSession {
  readonly createdAt: number;
  readonly lastSeen: number;
  readonly authAt: number;
  readonly userAgent: string | null;
  readonly carrier: SessionCarrier;
}

/** How a stored session is shown to its owner (ISO dates, opaque id). */
export function toSessionView(publicId: string, session: ViewableSession, expiresAt: number, current: boolean, kind: SessionView['kind'] = 'session'): SessionView {
  return {
    id: publicId,
    createdAt: new Date(session.createdAt).toISOString(),
    lastSeenAt: new Date(session.lastSeen).toISOString(),
    expiresAt: new Date(expiresAt).toISOString(),
    authenticatedAt: new Date(session.authAt).toISOString(),
    userAgent: session.userAgent,
    device: deviceLabelOf(session.userAgent),
    carrier: session.carrier,
    kind,
    current,
  };
}
