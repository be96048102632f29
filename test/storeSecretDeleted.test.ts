import { describe, expect, it } from 'vitest';
import { Sealer } from '../server/session/sealer.js';
import { newSessionId } from '../server/session/sessionId.js';
import { MemoryKeyValueStore } from '../server/store/memoryKeyValueStore.js';
import { lazyStoreSecret, STORE_SECRET_KEY } from '../server/store/storeSecret.js';
import { ManualClock } from './helpers/clock.js';
import { TEST_KEY } from './helpers/server.js';
import { recordFor, sessionStoreOver } from './helpers/sessionStores.js';

const DAY_MS = 86_400_000;

// Review of issue 21.1: `gatehouse:store-secret` deleted (by hand, by an eviction policy, by someone with
// write access to the store) while instances run. The running ones keep the secret they read; one started
// afterwards makes a new one, so the two name every user's index and generation differently. "End every
// session" is built on the index (a session's generation is checked at rotation, not at every request), so
// an end-all on the new instance misses what the old one started. Known gap: `it.fails` until the secret is
// refused rather than made afresh on a store that holds keys made under an earlier one.
describe('the store secret deleted while an instance runs', () => {
  it.fails('an end-all on an instance started afterwards still ends the sessions the running instance started', async () => {
    const kv = new MemoryKeyValueStore();
    const clock = new ManualClock();
    const sealer = new Sealer([TEST_KEY]);
    const running = sessionStoreOver(kv, sealer, clock, undefined, lazyStoreSecret(kv, sealer, clock, DAY_MS));
    const id = newSessionId();
    await running.create(id, recordFor('victim', clock));

    await kv.delete(STORE_SECRET_KEY);
    const startedLater = sessionStoreOver(kv, sealer, clock, undefined, lazyStoreSecret(kv, sealer, clock, DAY_MS));
    const ended = await startedLater.removeAllForUser('victim', undefined, 'password-change');

    expect(ended).toBe(1);
    expect(await running.load(id)).toBeUndefined();
  });
});
