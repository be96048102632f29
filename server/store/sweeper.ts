import type { Logger } from 'pino';
import type { KeyValueStore } from './keyValueStore.js';

export interface Sweeper {
  /** Runs one sweep now (bounded batches); resolves how many entries went. */
  sweepNow(): Promise<number>;
  stop(): void;
}

/**
 * Removes expired entries in bounded batches on an interval, for backends
 * that expire lazily (SQL rows, the memory map): without it abandoned
 * sessions pile up forever.
 */
export function startSweeper(store: KeyValueStore, logger: Logger, options = { intervalMs: 60_000, batchSize: 500, maxBatches: 20 }): Sweeper {
  let running: Promise<number> | undefined;
  const sweepNow = async (): Promise<number> => {
    let total = 0;
    for (let batch = 0; batch < options.maxBatches; batch += 1) {
      const removed = await store.sweepExpired(options.batchSize);
      total += removed;
      if (removed < options.batchSize) break;
    }
    return total;
  };
  const tick = () => {
    if (running || store.kind === 'redis') return;
    running = sweepNow()
      .then((removed) => {
        if (removed > 0) logger.debug({ event: 'store.swept', removed }, 'expired entries swept');
        return removed;
      })
      .catch((error: unknown) => {
        logger.warn({ err: error }, 'sweep failed');
        return 0;
      })
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return { sweepNow, stop: () => clearInterval(timer) };
}
