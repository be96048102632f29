/**
 * The model checker on demand, on any backend, for as long as asked:
 *   npm run model-check -- --backend redis --runs 500 [--seed 42] [--profile updates | --kinds rotate,logout] [--minutes 10]
 * Backends: every label of test/helpers/backends.ts, comma-separated (`all` runs each in turn); each runs every
 * profile of operations.ts unless one is named. Exits 1 on the first failure, printing the seed, the shrunk
 * operations and interleaving, and what the model found.
 */
import type { KeyValueStore } from '../../server/store/keyValueStore.js';
import { BACKEND_LABELS, type Backend, backendNamed } from '../helpers/backends.js';
import { replayDifferences, runChecker } from './runChecker.js';
import { type OperationKind, PROFILES } from './operations.js';

const args = process.argv.slice(2);
const option = (name: string) => {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? undefined : args[index + 1];
};
const runs = Number(option('runs') ?? 200);
const seed = option('seed') === undefined ? undefined : Number(option('seed'));
const minutes = option('minutes') === undefined ? undefined : Number(option('minutes'));
const kindsOption = option('kinds')?.split(',') as OperationKind[] | undefined;
const profiles: [string, readonly OperationKind[] | undefined][] = kindsOption ? [['--kinds', kindsOption]] : option('profile') ? [[option('profile')!, PROFILES[option('profile')!]]] : Object.entries(PROFILES);
const chosen = option('backend') ?? 'memory';
const labels = chosen === 'all' ? BACKEND_LABELS : chosen.split(',');

async function storesOf(backend: Backend): Promise<[KeyValueStore, KeyValueStore]> {
  if (backend.kind === 'memory' || backend.name === 'keyv' && backend.url === 'keyv:memory') {
    const store = await backend.open();
    return [store, store];
  }
  return [await backend.open(), await backend.open()];
}

let failed = false;
for (const label of labels) {
  const backend = await backendNamed(label);
  try {
    const stores = await storesOf(backend);
    const differences = await replayDifferences(stores, [1, 2, 3, 4, 5]);
    console.log(`model-check [${label}] replay of 5 seeds: ${differences.length === 0 ? 'call for call' : differences.join('; ')}`);
    if (differences.length > 0) failed = true;
    for (const [profile, kinds] of failed ? [] : profiles) {
      const started = Date.now();
      const report = await runChecker({
        stores,
        numRuns: runs,
        withDelete: true,
        ...(seed === undefined ? {} : { seed }),
        ...(kinds ? { kinds } : {}),
        ...(minutes === undefined ? {} : { timeLimitMs: (minutes * 60_000) / profiles.length }),
      });
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`model-check [${label}, ${profile}] seed ${report.seed}: ${report.runs} runs in ${seconds} s, ${report.failed ? 'FAILED' : 'every invariant held'}`);
      if (report.failed) {
        console.log(report.message);
        failed = true;
        break;
      }
    }
    for (const store of new Set(stores)) await store.close();
  } finally {
    await backend.cleanup();
  }
  if (failed) break;
}
process.exit(failed ? 1 : 0);
