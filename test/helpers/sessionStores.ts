import { z } from 'zod';
import { userSchema } from '../../shared/user.js';
import type { Clock } from '../../server/clock.js';
import { GENERATION_ERA } from '../../server/session/generations.js';
import type { Sealer } from '../../server/session/sealer.js';
import { SessionCodec } from '../../server/session/sessionCodec.js';
import type { SessionRecord } from '../../server/session/sessionRecord.js';
import { type SessionLimits, SessionStore } from '../../server/session/sessionStore.js';
import type { KeyValueStore } from '../../server/store/keyValueStore.js';
import type { StoreSecretSource } from '../../server/store/storeSecret.js';
import { testStoreSecret } from './storeSecret.js';

export const TEST_LIMITS: SessionLimits = { idleMs: 30 * 60_000, absoluteMs: 24 * 3_600_000, maxPerUser: 10 };

/** The codec of the default definition: the built-in user, no session data. */
export const builtInCodec = () => new SessionCodec(userSchema, z.object({}));

/** A SessionStore as createGatehouse builds it for the default definition (`storeSecret`: a fixed one, of a store 0.2 never wrote). */
export function sessionStoreOver(
  kv: KeyValueStore,
  sealer: Sealer,
  clock: Clock,
  limits: SessionLimits = TEST_LIMITS,
  storeSecret: StoreSecretSource = testStoreSecret,
): SessionStore {
  return new SessionStore(kv, sealer, storeSecret, clock, limits, builtInCodec());
}

/** A current-format record of the built-in user `uid`, of this version's first generation. */
export function recordFor(uid: string, clock: Clock, overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = clock.now();
  return { v: 2, user: { id: uid, username: `name-${uid}`, role: 'user' }, data: {}, createdAt: now, lastSeen: now, authAt: now, ua: 'Firefox', gen: GENERATION_ERA, carrier: 'cookie', ...overrides };
}

/** A record as format 1 wrote it (the built-in user's fields, no data, no authAt): still read after the upgrade. */
export function formatOneRecord(uid: string, clock: Clock) {
  const now = clock.now();
  return { v: 1 as const, uid, username: `name-${uid}`, role: 'user' as const, createdAt: now, lastSeen: now, ua: 'Firefox' };
}
