import { StoreSecret } from '../../server/store/storeSecret.js';

/** A fixed store secret for suites that build the store's components by hand (createGatehouse makes its own). */
export const TEST_STORE_SECRET = new StoreSecret('BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc');

/** `TEST_STORE_SECRET` as the components take it. */
export const testStoreSecret = () => Promise.resolve(TEST_STORE_SECRET);
