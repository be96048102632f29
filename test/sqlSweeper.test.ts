import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Sealer } from '../server/session/sealer.js';
import { newSessionId, publicIdOf, storeKeyOf } from '../server/session/sessionId.js';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { startSweeper } from '../server/store/sweeper.js';
import { describeEachBackend } from './helpers/backends.js';
import { TEST_KEY } from './helpers/server.js';

const EXPIRED = 50;

describeEachBackend(
  'sweeping expired sessions from a store that expires them lazily (SQL, Keyv)',
  (backendOf) => {
    let store: KeyValueStore;
    beforeAll(async () => {
      store = await backendOf().open();
    });
    afterAll(() => store.close());

    it(`after ${EXPIRED} sessions expire, bounded sweeps bring the row count back to its baseline and keep the live one`, async () => {
      const backend = backendOf();
      const sealer = new Sealer([TEST_KEY]);
      const live = storeKeyOf(newSessionId());
      await store.set(live, sealer.seal('{"live":true}', live), 60_000);
      const baseline = await backend.count();

      // Realistic rows: a sealed record plus its index entry, each with a 1 ms TTL (expired at once).
      for (let i = 0; i < EXPIRED; i += 1) {
        const id = newSessionId();
        const key = storeKeyOf(id);
        await store.set(key, sealer.seal(JSON.stringify({ v: 1, n: i }), key), 1);
        await store.mapSet('u:sweep-user:sessions', publicIdOf(id), key, 1);
      }
      // SQL rows and Keyv entries expire lazily: they are all still there.
      expect(await backend.count()).toBeGreaterThan(baseline + EXPIRED - 1);

      // Batches of 7: the sweeper must loop, and stop once a batch comes back short.
      const sweeper = startSweeper(store, pino({ level: 'silent' }), { intervalMs: 3_600_000, batchSize: 7, maxBatches: 100 });
      let removed = 0;
      // Bounded: each round may only find rows whose 1 ms has passed on the backend's clock.
      for (let round = 0; round < 50 && (await backend.count()) > baseline; round += 1) removed += await sweeper.sweepNow();
      sweeper.stop();

      expect(await backend.count()).toBe(baseline);
      expect(removed).toBeGreaterThanOrEqual(EXPIRED);
      expect(await store.get(live)).toBeDefined();
    });
  },
  ['sqlite', 'postgres', 'keyv'],
);
