import type { AccountsAdapter } from './accounts/accountsAdapter.js';
import { builtInAccounts } from './accounts/builtInAccounts.js';
import type { MigrationLog } from './accounts/legacyDirectory.js';
import { loginLogTagger } from './accounts/loginLogTag.js';
import { createPasswordHasher, type PasswordHasher } from './accounts/passwordHasher.js';
import type { Clock } from './clock.js';
import type { ResolvedOptions } from './options.js';
import { DeviceCredentials } from './session/deviceCredentials.js';
import { Sealer } from './session/sealer.js';
import type { SessionCodec } from './session/sessionCodec.js';
import type { SessionEventSink } from './session/sessionEvents.js';
import { SessionStore } from './session/sessionStore.js';
import type { KeyValueStore } from './store/keyValueStore.js';
import { setTimeout as delay } from 'node:timers/promises';
import { lazyStoreSecret, StoreSecretError, type StoreSecretSource } from './store/storeSecret.js';
import { StoreLoginThrottle } from './throttle/loginThrottle.js';
import { instrumentedThrottle } from './throttle/instrumentedThrottle.js';
import { tracedHasher } from './accounts/tracedHasher.js';
import { NO_TELEMETRY, type Telemetry } from './telemetry/telemetry.js';
import type { Services } from './trpc/context.js';

export type ServiceOptions = Pick<ResolvedOptions, 'keys' | 'idleTimeoutMs' | 'absoluteTimeoutMs' | 'maxSessionsPerUser' | 'throttle' | 'freshLoginWindowMs'> &
  Partial<Pick<ResolvedOptions, 'staySignedInMs'>>;

/**
 * Wires the procedures' collaborators over one store: the same for
 * `createGatehouse` and `createTestCaller`. Without `accounts`, the
 * built-in directory (argon2id, in the store) serves the built-in user;
 * `logger` hears of accounts an earlier version wrote that it could not
 * move to its sealed keys.
 */
export async function createServices<TUser extends { id: string }>(
  options: ServiceOptions,
  store: KeyValueStore,
  clock: Clock,
  codec: SessionCodec,
  emit: SessionEventSink,
  accounts: AccountsAdapter<TUser> | undefined,
  hasher?: PasswordHasher,
  telemetry: Telemetry = NO_TELEMETRY,
  logger?: MigrationLog,
): Promise<Services<TUser>> {
  const sealer = new Sealer(options.keys);
  const storeSecret = lazyStoreSecret(store, sealer, clock, legacyWindowOf(options));
  await refuseReplacedKeys(storeSecret);
  const devices = options.staySignedInMs === undefined ? undefined : new DeviceCredentials(store, sealer, storeSecret, clock, options.staySignedInMs);
  return {
    accounts: accounts ?? (builtInAccounts(store, tracedHasher(hasher ?? (await createPasswordHasher()), telemetry), storeSecret, logger) as unknown as AccountsAdapter<TUser>),
    sessions: new SessionStore(
      store,
      sealer,
      storeSecret,
      clock,
      { idleMs: options.idleTimeoutMs, absoluteMs: options.absoluteTimeoutMs, maxPerUser: options.maxSessionsPerUser },
      codec,
      emit,
      devices,
    ),
    throttle: instrumentedThrottle(new StoreLoginThrottle(store, storeSecret, clock, options.throttle, options.keys), telemetry),
    freshLoginWindowMs: options.freshLoginWindowMs,
    loginLogTag: loginLogTagger(options.keys),
  };
}

/**
 * A day past the longest anything an earlier version wrote can stay live: a
 * "stay signed in" credential's lifetime, then the absolute timeout of a
 * session it started at the end of that lifetime (such a session answers to
 * the earlier version's generation counter, which is read only in this window).
 */
export const legacyWindowOf = (options: Pick<ServiceOptions, 'absoluteTimeoutMs' | 'staySignedInMs'>) =>
  (options.staySignedInMs ?? 0) + options.absoluteTimeoutMs + 24 * 3_600_000;

/** How long start-up waits for the store's secret before leaving it to the first request (the store may be down). */
const SECRET_AT_START_MS = 2_000;

/**
 * Keys replaced rather than rotated, or a secret lost, fail at start-up, with the fix named,
 * when the store answers in time; a store that is down leaves it to the
 * first request that needs the secret (Gatehouse starts, and answers 503).
 */
async function refuseReplacedKeys(storeSecret: StoreSecretSource): Promise<void> {
  const outcome = storeSecret().then(
    () => undefined,
    (error: unknown) => (error instanceof StoreSecretError ? error : undefined),
  );
  const refused = await Promise.race([outcome, delay(SECRET_AT_START_MS, undefined, { ref: false })]);
  if (refused) throw refused;
}
