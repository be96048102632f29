import type { KeyValueStore, WriteOptions } from '../../server/store/keyValueStore.js';
import { openStore } from '../../server/store/openStore.js';
import { StoreUnavailableError, StoreUnconfirmedError } from '../../server/store/storeErrors.js';

export interface SwitchableStore {
  store: KeyValueStore;
  /** While true, every operation but `close` fails as an unreachable backend does. */
  down: boolean;
  /**
   * A partial outage, as one cluster shard down: while set, only operations on
   * keys it accepts fail (e.g. the accounts, while the login counters answer).
   */
  downFor: ((key: string) => boolean) | undefined;
  /** While true (and down), a failure is a missed deadline rather than an error answered. */
  timingOut: boolean;
  /**
   * While true, a durable write (`{ durable: true }`) is made, then fails as Redis's `WAIT` does when no
   * replica acknowledged it in time (`StoreUnconfirmedError`, 0 of 1); other operations answer as ever.
   */
  unconfirmed: boolean;
}

const isDurable = (arg: unknown) => typeof arg === 'object' && arg !== null && (arg as WriteOptions).durable === true;

/** A memory store with an outage switch, for tests that need the store to fail on cue. */
export async function switchableStore(): Promise<SwitchableStore> {
  const real = await openStore({ url: 'memory://', timeoutMs: 1000 });
  const control: SwitchableStore = {
    down: false,
    downFor: undefined,
    timingOut: false,
    unconfirmed: false,
    store: new Proxy(real, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        const bound = (value as (...args: unknown[]) => unknown).bind(target);
        // A realistic cause, with the kind of detail that must never reach a client.
        const fail = () =>
          Promise.reject(
            control.timingOut
              ? new StoreUnavailableError(String(property), { cause: new Error('no answer from 10.0.0.5:6379 within 1000 ms'), timedOut: true })
              : new StoreUnavailableError(String(property), { cause: new Error('connect ECONNREFUSED 10.0.0.5:6379') }),
          );
        if (control.down && property !== 'close') return fail;
        const downFor = control.downFor;
        if (downFor && property !== 'close') return (key: unknown, ...rest: unknown[]) => (typeof key === 'string' && downFor(key) ? fail() : bound(key, ...rest));
        if (control.unconfirmed) {
          return async (...args: unknown[]) => {
            const result = await bound(...args);
            if (args.some(isDurable)) throw new StoreUnconfirmedError(String(property), 0, 1);
            return result;
          };
        }
        return bound;
      },
    }),
  };
  return control;
}
