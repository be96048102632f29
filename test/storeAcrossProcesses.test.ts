import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { type Backend, describeEachBackend } from './helpers/backends.js';
import type { WorkerReport } from './helpers/storeWorker.js';

const ROUNDS = 200;

/** Starts test/helpers/storeWorker.ts on `backend` and resolves once its store is open. */
async function startWorker(backend: Backend, windowStart: number): Promise<{ child: ChildProcess; report: Promise<WorkerReport> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/storeWorker.ts'], {
    env: {
      ...process.env,
      STORE_URL: backend.url,
      STORE_NAMESPACE: backend.namespace,
      STORE_TABLE: backend.table ?? '',
      ROUNDS: String(ROUNDS),
      WINDOW_START: String(windowStart),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`store worker exited with ${String(code)}`);
  });
  exited.catch(() => undefined);
  const next = async () => {
    const line = await Promise.race([lines.next(), exited]);
    if (line.done) throw new Error('store worker closed its output');
    return line.value;
  };
  expect(await next()).toBe('ready');
  return { child, report: next().then((line) => JSON.parse(line) as WorkerReport) };
}

describeEachBackend(
  'two processes racing on one store',
  (backendOf) => {
    let store: KeyValueStore;
    beforeAll(async () => {
      store = await backendOf().open();
    });
    afterAll(() => store.close());

    it(`${ROUNDS} addToCounter(+1) and ${ROUNDS} read-and-swap increments each: nothing lost, no count seen twice`, async () => {
      const windowStart = Date.now();
      await store.set('xp:chain', '0', 3_600_000);
      const workers = await Promise.all([startWorker(backendOf(), windowStart), startWorker(backendOf(), windowStart)]);
      for (const { child } of workers) child.stdin!.write('go\n');
      const reports = await Promise.all(workers.map((worker) => worker.report));
      await Promise.all(workers.map(({ child }) => (child.exitCode === null ? once(child, 'exit') : undefined)));

      const counts = reports.flatMap((report) => report.counts).sort((a, b) => a - b);
      expect(counts).toEqual(Array.from({ length: 2 * ROUNDS }, (_, i) => i + 1));
      expect(await store.get('xp:counter')).toBe(`${2 * ROUNDS}|${windowStart + 3_600_000}`);
      expect(await store.get('xp:chain')).toBe(String(2 * ROUNDS));
      // Not a requirement, but a race that never happened would prove nothing: say how often a swap lost.
      console.info(`${backendOf().kind}: ${reports.map((r) => r.casRetries).join(' + ')} swaps lost to the other process and were retried`);
    }, 120_000);
  },
  ['sqlite', 'redis', 'postgres'],
);
