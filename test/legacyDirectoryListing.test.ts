import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DirectoryKeys } from '../server/accounts/directoryKeys.js';
import { LegacyDirectory } from '../server/accounts/legacyDirectory.js';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { MemoryKeyValueStore } from '../server/store/memoryKeyValueStore.js';
import { StoreSecret } from '../server/store/storeSecret.js';

/** `store`, except that `unreadable` is listed but never read back (a damaged Keyv wrapper on Redis does that). */
function listedButUnread(store: KeyValueStore, unreadable: string): KeyValueStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'get') return (key: string) => (key === unreadable ? Promise.resolve(undefined) : target.get(key));
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('moving 0.2 accounts when a login key is listed but does not read back', () => {
  it('ends after listing it twice, leaves it in place, and still drops the stray login keys it can read', async () => {
    const memory = new MemoryKeyValueStore();
    await memory.set('user:name:ghost', 'some-id', 0);
    await memory.set('user:name:stray', 'an-id-with-no-record', 0);
    const kv = listedButUnread(memory, 'user:name:ghost');
    const legacy = new LegacyDirectory(kv, new DirectoryKeys(new StoreSecret(randomBytes(32).toString('base64url'))), { warn: () => undefined });
    const listings: string[] = [];
    await legacy.moveAll(async (prefix, limit) => {
      listings.push(prefix);
      // Without the guard the name loop never ends: fail the test instead of hanging it.
      if (listings.length > 10) throw new Error('moveAll kept listing the same key');
      return memory.keysWithPrefix(prefix, limit);
    });
    // One listing of the records (none), then the names: both, the ghost alone again, and the ghost left aside.
    expect(listings).toEqual(['user:id:', 'user:name:', 'user:name:', 'user:name:']);
    expect(await memory.keysWithPrefix('user:', 10)).toEqual(['user:name:ghost']);
  });
});
