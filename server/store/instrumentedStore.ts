import type { Telemetry } from '../telemetry/telemetry.js';
import type { KeyValueStore } from './keyValueStore.js';

/** The store operations that are timed (every one a request can wait on; `close` is not). */
const TIMED = ['get', 'set', 'add', 'replace', 'compareAndSet', 'delete', 'take', 'increment', 'addToCounter', 'mapSet', 'mapDelete', 'mapGetAll', 'ping', 'sweepExpired'] as const;

/**
 * The optional operations, timed like the others when the store has them: left out when it does not, as
 * callers test for them (`if (!kv.keysWithPrefix)`). A store without `keysWithPrefix` cannot list its keys, so
 * the store secret assumes an earlier version's keys are there and reads them, user ids and all, for days.
 */
const OPTIONAL = ['keysWithPrefix'] as const;

/**
 * The store, each operation timed and traced by `telemetry`
 * (`gatehouse.store.operation.duration`, `gatehouse.store.errors`, a
 * `gatehouse.store.<operation>` span). Operation names are the method
 * names: a closed set, never a key. Without telemetry, the store itself.
 */
export function instrumentedStore(store: KeyValueStore, telemetry: Telemetry): KeyValueStore {
  if (!telemetry.enabled) return store;
  const instrumented: Record<string, unknown> = {
    get kind() {
      return store.kind;
    },
    get startupWarning() {
      return store.startupWarning;
    },
    close: () => store.close(),
  };
  const operations = [...TIMED, ...OPTIONAL.filter((operation) => store[operation] !== undefined)];
  for (const operation of operations) {
    // Looked up at each call, not once: a store may answer differently over time (a proxy, a test's outage switch).
    instrumented[operation] = (...args: unknown[]) =>
      telemetry.storeOperation(store.kind, operation, () => (store[operation] as (...args: unknown[]) => Promise<unknown>).apply(store, args));
  }
  return instrumented as unknown as KeyValueStore;
}
