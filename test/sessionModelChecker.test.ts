import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { type Backend, backendNamed } from './helpers/backends.js';
import { PROFILES } from './model/operations.js';
import { replayDifferences, runChecker } from './model/runChecker.js';

/**
 * The concurrency model checker (test/model, SECURITY.md attack 35) in its
 * bounded form: seeded runs of random interleavings on memory and SQLite,
 * two Gatehouse instances over one backend. `npm run model-check` runs it
 * longer, on every backend (CI does, README "Testing").
 */
const RUNS = Number(process.env.MODEL_CHECK_RUNS ?? 120);
/** Fixed, so `npm test` replays; `npm run model-check` (and CI's longer run) draws new seeds. */
const SEED = Number(process.env.MODEL_CHECK_SEED ?? 20_261_207);

/** Two stores over one backend: one shared object in memory, two connections to one SQLite file. */
async function storesOf(backend: Backend): Promise<[KeyValueStore, KeyValueStore]> {
  if (backend.kind === 'memory') {
    const store = await backend.open();
    return [store, store];
  }
  return [await backend.open(), await backend.open()];
}

describe.each(['memory', 'sqlite'] as const)('random interleavings of session operations keep every invariant [%s]', (name) => {
  let backend: Backend;
  let stores: [KeyValueStore, KeyValueStore];
  beforeAll(async () => {
    backend = await backendNamed(name);
    stores = await storesOf(backend);
  });
  afterAll(async () => {
    for (const store of new Set(stores)) await store.close();
    await backend.cleanup();
  });

  it.each(Object.entries(PROFILES))(
    `${RUNS} seeded runs, %s: no ended session answers, no update lost, no stale account state, the index exact, no false success`,
    async (_profile, kinds) => {
      const report = await runChecker({ stores, numRuns: RUNS, seed: SEED, withDelete: true, ...(kinds ? { kinds } : {}) });
      // On failure this prints the seed, the shrunk operations and their interleaving, and what the model found.
      if (report.failed) expect.fail(`seed ${report.seed}:\n${report.message}`);
      expect(report.runs).toBe(RUNS);
    },
    600_000,
  );

  it('a seed replays: the same seed gives the same interleaving, call for call (20 seeds)', async () => {
    expect(await replayDifferences(stores, Array.from({ length: 20 }, (_, i) => 4242 + i))).toEqual([]);
  }, 120_000);
});
