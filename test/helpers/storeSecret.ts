import { systemClock } from '../../server/clock.js';
import { resolveOptions } from '../../server/options.js';
import { legacyWindowOf } from '../../server/services.js';
import { Sealer } from '../../server/session/sealer.js';
import type { KeyValueStore } from '../../server/store/keyValueStore.js';
import { lazyStoreSecret, StoreSecret, type StoreSecretSource } from '../../server/store/storeSecret.js';

/** A fixed store secret for suites that build the store's components by hand (createGatehouse makes its own). */
export const TEST_STORE_SECRET = new StoreSecret('BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc');

/** `TEST_STORE_SECRET` as the components take it. */
export const testStoreSecret = () => Promise.resolve(TEST_STORE_SECRET);

/**
 * The secret of a store that a Gatehouse with `SESSION_KEYS=keys` uses (read, or made as it would make it):
 * for a test that reaches into the store a server or a child process shares.
 */
export const storeSecretOf = (store: KeyValueStore, keys: readonly string[]): StoreSecretSource =>
  lazyStoreSecret(store, new Sealer(keys), systemClock, legacyWindowOf(resolveOptions({ keys: [...keys] })));
