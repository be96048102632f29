import type { SessionView } from '../../shared/session.js';
import type { SessionRecord } from '../session/sessionRecord.js';

/** How a stored session is shown to its owner (ISO dates, opaque id). */
export function toSessionView(publicId: string, record: SessionRecord, expiresAt: number, current: boolean): SessionView {
  return {
    id: publicId,
    createdAt: new Date(record.createdAt).toISOString(),
    lastSeenAt: new Date(record.lastSeen).toISOString(),
    expiresAt: new Date(expiresAt).toISOString(),
    userAgent: record.ua,
    current,
  };
}
