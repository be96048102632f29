/**
 * One process of test/storeAcrossProcesses.test.ts: opens the store named by
 * its environment, says "ready", waits for "go" on stdin, then races the
 * other process on the same keys and prints what it saw as one JSON line.
 *
 *   STORE_URL, STORE_NAMESPACE, STORE_TABLE (PostgreSQL), ROUNDS
 */
import { createInterface } from 'node:readline';
import { openStore } from '../../server/store/openStore.js';

export interface WorkerReport {
  /** The count each `addToCounter(+1)` resolved. */
  counts: number[];
  /** Swaps that lost to the other process and were retried. */
  casRetries: number;
}

const rounds = Number(process.env.ROUNDS);
const store = await openStore({
  url: process.env.STORE_URL!,
  namespace: process.env.STORE_NAMESPACE!,
  timeoutMs: 10_000,
  ...(process.env.STORE_TABLE ? { table: process.env.STORE_TABLE } : {}),
});
await store.ping();
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line === 'go') break;

const windowStart = Number(process.env.WINDOW_START);
const report: WorkerReport = { counts: [], casRetries: 0 };
for (let round = 0; round < rounds; round += 1) {
  report.counts.push((await store.addToCounter('xp:counter', 1, windowStart, 3_600_000)).count);
  // A read-and-swap increment, retried until it wins: the pattern account changes use.
  for (;;) {
    const seen = await store.get('xp:chain');
    // Work between the read and the swap (an account change hashes, validates…): time for the other process to
    // swap first. Without it, SQLite's microsecond statements would let each process run almost alone.
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (seen !== undefined && (await store.compareAndSet('xp:chain', seen, String(Number(seen) + 1), 3_600_000))) break;
    report.casRetries += 1;
  }
}
process.stdout.write(`${JSON.stringify(report)}\n`);
lines.close();
await store.close();
