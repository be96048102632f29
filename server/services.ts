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
import { legacyWindowOf, refuseUnusableSecret, lazyStoreSecret } from './store/storeSecret.js';
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
  await refuseUnusableSecret(storeSecret);
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
