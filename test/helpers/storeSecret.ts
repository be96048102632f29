import { systemClock } from '../../server/clock.js';
import { resolveOptions } from '../../server/options.js';
import { Sealer } from '../../server/session/sealer.js';
import type { KeyValueStore } from '../../server/store/keyValueStore.js';
import { lazyStoreSecret, openStoreSecret, StoreSecret, type StoreSecretSource, legacyWindowOf } from '../../server/store/storeSecret.js';
import { TEST_KEY } from './server.js';

const TEST_SECRET = 'BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc';

/** A fixed store secret for suites that build the store's components by hand (createGatehouse makes its own). */
export const TEST_STORE_SECRET = new StoreSecret(TEST_SECRET);

/** `TEST_STORE_SECRET` as the components take it. */
export const testStoreSecret = () => Promise.resolve(TEST_STORE_SECRET);

/**
 * The secret of a store that a Gatehouse with `SESSION_KEYS=keys` uses (read, or made as it would make it):
 * for a test that reaches into the store a server or a child process shares.
 */
export const storeSecretOf = (store: KeyValueStore, keys: readonly string[]): StoreSecretSource =>
  lazyStoreSecret(store, new Sealer(keys), systemClock, legacyWindowOf(resolveOptions({ keys: [...keys] })));

/** The fixed secret of a store an earlier version (0.2) wrote: its keys are read alongside until `legacyUntil`. */
export const legacyTestStoreSecret = (legacyUntil: number): StoreSecretSource => {
  const secret = new StoreSecret(TEST_SECRET, legacyUntil);
  return () => Promise.resolve(secret);
};

/** The secret createGatehouse made in `store` (sealed under the test key), to name a user's keys in a test. */
export const storeSecretIn = (store: KeyValueStore, keys: readonly string[] = [TEST_KEY]) =>
  openStoreSecret(store, new Sealer(keys), { now: () => Date.now() }, 0);

/** A user's keys as this version names them. */
export const userKeysOf = (secret: StoreSecret, userId: string) => ({
  sessions: secret.keyOf('si', userId),
  devices: secret.keyOf('di', userId),
  generation: secret.keyOf('sg', userId),
});
