import type { KeyValueStore } from '../../server/store/keyValueStore.js';
import { openStore } from '../../server/store/openStore.js';
import { StoreUnavailableError } from '../../server/store/storeErrors.js';

export interface SwitchableStore {
  store: KeyValueStore;
  /** While true, every operation but `close` fails as an unreachable backend does. */
  down: boolean;
}

/** A memory store with an outage switch, for tests that need the store to fail on cue. */
export async function switchableStore(): Promise<SwitchableStore> {
  const real = await openStore({ url: 'memory://', timeoutMs: 1000 });
  const control: SwitchableStore = {
    down: false,
    store: new Proxy(real, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        if (control.down && property !== 'close') {
          // A realistic cause, with the kind of detail that must never reach a client.
          const cause = new Error('connect ECONNREFUSED 10.0.0.5:6379');
          return () => Promise.reject(new StoreUnavailableError(String(property), { cause }));
        }
        return (value as (...args: unknown[]) => unknown).bind(target);
      },
    }),
  };
  return control;
}
