import { describe, expect, it } from 'vitest';
import { StoreUserDirectory } from '../server/accounts/userDirectory.js';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { MemoryKeyValueStore } from '../server/store/memoryKeyValueStore.js';
import { legacyTestStoreSecret } from './helpers/storeSecret.js';

/** `store`, noting every key an operation names (what a driver's trace of its commands shows). */
function keysNamed(store: KeyValueStore): { store: KeyValueStore; named: string[] } {
  const named: string[] = [];
  const wrapped = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (typeof args[0] === 'string') named.push(args[0]);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, named };
}

// Review of issue 21.1: on a store 0.2 wrote, the built-in directory kept looking up 0.2's keys
// (`user:name:<login>`, `user:id:<id>`) for every login it did not find and every registration, for ever.
// Now, on a store that lists its keys, the first process moves every account and marks the move done in the
// store; no process looks for 0.2's keys again.
describe('the built-in directory on a store 0.2 wrote, long after the legacy window', () => {
  it('a login nobody has and a registration name no login in a store key', async () => {
    const { store, named } = keysNamed(new MemoryKeyValueStore());
    // A window that ended at 1 ms past the epoch: 0.2's keys were there when the secret was made.
    const directory = new StoreUserDirectory(store, legacyTestStoreSecret(1));
    await directory.findByUsername('someone@example.com');
    await directory.create('newcomer@example.com', 'not-a-real-hash');
    expect(named.filter((key) => key.includes('@example.com'))).toEqual([]);
  });
});
