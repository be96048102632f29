import { createPasswordHasher, type PasswordHasher } from './accounts/passwordHasher.js';
import { StoreUserDirectory } from './accounts/userDirectory.js';
import type { Clock } from './clock.js';
import type { ResolvedOptions } from './options.js';
import { Sealer } from './session/sealer.js';
import { SessionStore } from './session/sessionStore.js';
import type { KeyValueStore } from './store/keyValueStore.js';
import { StoreLoginThrottle } from './throttle/loginThrottle.js';
import type { Services } from './trpc/context.js';

/** Wires the procedures' collaborators over one store: the same for the server and for `createTestCaller`. */
export async function createServices(
  options: Pick<ResolvedOptions, 'keys' | 'idleTimeoutMs' | 'absoluteTimeoutMs' | 'maxSessionsPerUser' | 'throttle'>,
  store: KeyValueStore,
  clock: Clock,
  hasher?: PasswordHasher,
): Promise<Services> {
  return {
    users: new StoreUserDirectory(store),
    hasher: hasher ?? (await createPasswordHasher()),
    sessions: new SessionStore(store, new Sealer(options.keys), clock, {
      idleMs: options.idleTimeoutMs,
      absoluteMs: options.absoluteTimeoutMs,
      maxPerUser: options.maxSessionsPerUser,
    }),
    throttle: new StoreLoginThrottle(store, clock, options.throttle),
  };
}
