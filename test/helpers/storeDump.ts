import type { KeyValueStore } from '../../server/store/keyValueStore.js';
import type { Backend } from './backends.js';

/**
 * What `backend.dump()` shows (every raw key and value of its key space);
 * on memory, which has no raw dump, every live key `store` lists, with its
 * value or its map's fields as JSON.
 */
export async function storeDump(backend: Backend, store: KeyValueStore): Promise<Map<string, string>> {
  if (backend.name !== 'memory') return backend.dump();
  if (!store.keysWithPrefix) throw new Error('the memory store lists its keys (keysWithPrefix): the dump needs it');
  const out = new Map<string, string>();
  for (const key of await store.keysWithPrefix('', 100_000)) {
    const value = await store.get(key);
    out.set(key, value ?? JSON.stringify(Object.fromEntries(await store.mapGetAll(key))));
  }
  return out;
}

/** The entries of `dump` whose key or value contains any of `needles` (case-insensitively), as `key => value` lines. */
export function entriesHolding(dump: ReadonlyMap<string, string>, needles: readonly string[]): string[] {
  const lowered = needles.map((needle) => needle.toLowerCase());
  return [...dump]
    .filter(([key, value]) => lowered.some((needle) => key.toLowerCase().includes(needle) || value.toLowerCase().includes(needle)))
    .map(([key, value]) => `${key} => ${value}`);
}
