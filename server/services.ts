import { createPasswordHasher, type PasswordHasher } from './accounts/passwordHasher.js';
import { StoreUserDirectory } from './accounts/userDirectory.js';
import type { Clock } from './clock.js';
import type { GatehouseConfig } from './config.js';
import { Sealer } from './session/sealer.js';
import { SessionStore } from './session/sessionStore.js';
import type { KeyValueStore } from './store/keyValueStore.js';
import { StoreLoginThrottle } from './throttle/loginThrottle.js';
import type { Services } from './trpc/context.js';

/** Wires the procedures' collaborators over one store: the same for the server and for `createTestCaller`. */
export async function createServices(
  config: GatehouseConfig,
  store: KeyValueStore,
  clock: Clock,
  hasher?: PasswordHasher,
): Promise<Services> {
  return {
    users: new StoreUserDirectory(store),
    hasher: hasher ?? (await createPasswordHasher()),
    sessions: new SessionStore(store, new Sealer(config.sessionKeys), clock, {
      idleMs: config.idleTimeoutMs,
      absoluteMs: config.absoluteTimeoutMs,
      maxPerUser: config.maxSessionsPerUser,
    }),
    throttle: new StoreLoginThrottle(store, clock, config.loginThrottle),
  };
}
