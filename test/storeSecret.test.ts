import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sealer } from '../server/session/sealer.js';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { StoreUnavailableError } from '../server/store/storeErrors.js';
import { lazyStoreSecret, openStoreSecret, STORE_SECRET_KEY, StoreSecretSealedError } from '../server/store/storeSecret.js';
import { type Backend, describeEachBackend } from './helpers/backends.js';
import { ManualClock } from './helpers/clock.js';

const OLD = 'old-key-old-key-old-key-old-key-old-key-0001';
const NEW = 'new-key-new-key-new-key-new-key-new-key-0002';
const DAY = 86_400_000;

describeEachBackend('the store secret', (backendOf) => {
  let backend: Backend;
  let store: KeyValueStore;
  const clock = new ManualClock(Date.UTC(2026, 11, 7));
  beforeAll(async () => {
    backend = backendOf();
    store = await backend.open();
  });
  afterAll(() => store.close());

  it('is made once, sealed: two instances starting at once get the same key parts, and the stored value shows no secret', async () => {
    const [a, b] = await Promise.all([openStoreSecret(store, new Sealer([OLD]), clock, DAY), openStoreSecret(store, new Sealer([OLD]), clock, DAY)]);
    expect(a.part('user-1')).toBe(b.part('user-1'));
    expect(a.part('user-1')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(a.part('user-1')).not.toBe(a.part('user-2'));
    // A fresh store held nothing an earlier version wrote: no legacy window.
    expect(a.legacyUntil).toBe(0);
    const stored = await store.get(STORE_SECRET_KEY);
    expect(stored).toMatch(/^v1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]+$/);
    const reopened = await openStoreSecret(store, new Sealer([OLD]), clock, DAY);
    expect(reopened.part('user-1')).toBe(a.part('user-1'));
  });

  it('survives a SESSION_KEYS rotation: opened under the old key it is re-sealed under the new one, so the old key can go', async () => {
    const before = (await openStoreSecret(store, new Sealer([OLD]), clock, DAY)).part('user-1');
    const rotated = await openStoreSecret(store, new Sealer([NEW, OLD]), clock, DAY);
    expect(rotated.part('user-1')).toBe(before);
    const afterOldGone = await openStoreSecret(store, new Sealer([NEW]), clock, DAY);
    expect(afterOldGone.part('user-1')).toBe(before);
  });

  it('refuses keys that were replaced, not rotated, with a message naming the fix, and leaves the secret as it was', async () => {
    const stored = await store.get(STORE_SECRET_KEY);
    const refused = openStoreSecret(store, new Sealer(['unrelated-key-unrelated-key-unrelated-0003']), clock, DAY);
    await expect(refused).rejects.toBeInstanceOf(StoreSecretSealedError);
    await expect(refused).rejects.toThrow(/does not open with any of SESSION_KEYS.*Put the key that was first before back in the list, after the new one/);
    expect(await store.get(STORE_SECRET_KEY)).toBe(stored);
  });
});

describe('the store secret on a store an earlier version wrote', () => {
  it('opens a legacy window as long as asked when a key of 0.2 (index, generation or account) is there, and none otherwise', async () => {
    const { MemoryKeyValueStore } = await import('../server/store/memoryKeyValueStore.js');
    const clock = new ManualClock(Date.UTC(2026, 11, 7));
    for (const legacyKey of ['u:u-1:sessions', 'g:u-1', 'user:id:u-1']) {
      const store = new MemoryKeyValueStore();
      if (legacyKey.endsWith(':sessions')) await store.mapSet(legacyKey, 'pub', 's:x', DAY);
      else await store.set(legacyKey, '1', 0);
      const secret = await openStoreSecret(store, new Sealer([OLD]), clock, 3 * DAY);
      expect(secret.legacyUntil).toBe(clock.now() + 3 * DAY);
      expect(secret.readsLegacyAt(clock.now() + 3 * DAY - 1)).toBe(true);
      expect(secret.readsLegacyAt(clock.now() + 3 * DAY)).toBe(false);
    }
    const fresh = new MemoryKeyValueStore();
    await fresh.set('s:abc', 'a session', DAY);
    expect((await openStoreSecret(fresh, new Sealer([OLD]), clock, 3 * DAY)).legacyUntil).toBe(0);
  });

  it('a store that cannot list its keys is assumed to hold some', async () => {
    const { MemoryKeyValueStore } = await import('../server/store/memoryKeyValueStore.js');
    const clock = new ManualClock(Date.UTC(2026, 11, 7));
    const store = new MemoryKeyValueStore();
    Object.defineProperty(store, 'keysWithPrefix', { value: undefined });
    expect((await openStoreSecret(store, new Sealer([OLD]), clock, DAY)).legacyUntil).toBe(clock.now() + DAY);
  });

  it('read lazily: a store down at the first call answers unavailable, and the next call, the store back, gets the secret', async () => {
    const { MemoryKeyValueStore } = await import('../server/store/memoryKeyValueStore.js');
    const clock = new ManualClock(Date.UTC(2026, 11, 7));
    const store = new MemoryKeyValueStore();
    let down = true;
    const flaky = new Proxy(store, {
      get(target, name, receiver) {
        const value: unknown = Reflect.get(target, name, receiver);
        if (name !== 'get' || typeof value !== 'function') return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        return (key: string) => (down ? Promise.reject(new StoreUnavailableError('get')) : store.get(key));
      },
    });
    const source = lazyStoreSecret(flaky, new Sealer([OLD]), clock, DAY);
    await expect(source()).rejects.toBeInstanceOf(StoreUnavailableError);
    down = false;
    const secret = await source();
    expect(await source()).toBe(secret);
  });
});

describe('keys replaced instead of rotated, at start-up', () => {
  it('createGatehouse refuses to start, naming the fix, when the store answers; the secret is left as it was', async () => {
    const { createGatehouse, createLogger, MemoryKeyValueStore } = await import('../server/index.js').then(async (index) => ({
      ...index,
      MemoryKeyValueStore: (await import('../server/store/memoryKeyValueStore.js')).MemoryKeyValueStore,
    }));
    const store = new MemoryKeyValueStore();
    await createGatehouse({ keys: [OLD], store, logger: createLogger('silent') });
    const sealed = await store.get(STORE_SECRET_KEY);
    expect(sealed).toMatch(/^v1\./);
    await expect(createGatehouse({ keys: [NEW], store, logger: createLogger('silent') })).rejects.toThrow(
      /does not open with any of SESSION_KEYS: the keys were replaced, not rotated\. Put the key that was first before back in the list, after the new one/,
    );
    expect(await store.get(STORE_SECRET_KEY)).toBe(sealed);
    await createGatehouse({ keys: [NEW, OLD], store, logger: createLogger('silent') });
    expect(await store.get(STORE_SECRET_KEY)).not.toBe(sealed);
    // Started once with [NEW, OLD], the secret is under NEW: the old key can go (this start would throw otherwise).
    await createGatehouse({ keys: [NEW], store, logger: createLogger('silent') });
  });
});
