import type { AccountsAdapter } from './accounts/accountsAdapter.js';
import { builtInAccounts } from './accounts/builtInAccounts.js';
import { loginLogTagger } from './accounts/loginLogTag.js';
import { createPasswordHasher, type PasswordHasher } from './accounts/passwordHasher.js';
import type { Clock } from './clock.js';
import type { ResolvedOptions } from './options.js';
import { Sealer } from './session/sealer.js';
import type { SessionCodec } from './session/sessionCodec.js';
import type { SessionEventSink } from './session/sessionEvents.js';
import { SessionStore } from './session/sessionStore.js';
import type { KeyValueStore } from './store/keyValueStore.js';
import { StoreLoginThrottle } from './throttle/loginThrottle.js';
import type { Services } from './trpc/context.js';

export type ServiceOptions = Pick<ResolvedOptions, 'keys' | 'idleTimeoutMs' | 'absoluteTimeoutMs' | 'maxSessionsPerUser' | 'throttle' | 'freshLoginWindowMs'>;

/**
 * Wires the procedures' collaborators over one store: the same for
 * `createGatehouse` and `createTestCaller`. Without `accounts`, the
 * built-in directory (argon2id, in the store) serves the built-in user.
 */
export async function createServices<TUser extends { id: string }>(
  options: ServiceOptions,
  store: KeyValueStore,
  clock: Clock,
  codec: SessionCodec,
  emit: SessionEventSink,
  accounts: AccountsAdapter<TUser> | undefined,
  hasher?: PasswordHasher,
): Promise<Services<TUser>> {
  return {
    accounts: accounts ?? (builtInAccounts(store, hasher ?? (await createPasswordHasher())) as unknown as AccountsAdapter<TUser>),
    sessions: new SessionStore(
      store,
      new Sealer(options.keys),
      clock,
      { idleMs: options.idleTimeoutMs, absoluteMs: options.absoluteTimeoutMs, maxPerUser: options.maxSessionsPerUser },
      codec,
      emit,
    ),
    throttle: new StoreLoginThrottle(store, clock, options.throttle, options.keys),
    freshLoginWindowMs: options.freshLoginWindowMs,
    loginLogTag: loginLogTagger(options.keys),
  };
}
