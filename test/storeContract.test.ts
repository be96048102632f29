import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { StoreUnavailableError } from '../server/store/storeErrors.js';
import { type Backend, describeEachBackend } from './helpers/backends.js';

const LONG = 60_000;
const SHORT = 300;

/** Polls (bounded) until `check` holds: real TTLs expire on the backend's own clock. */
async function eventually(check: () => Promise<boolean>, what: string, rounds = 100): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`never happened: ${what}`);
}

describeEachBackend('the KeyValueStore contract', (backendOf) => {
  let backend: Backend;
  let store: KeyValueStore;
  beforeAll(async () => {
    backend = backendOf();
    store = await backend.open();
  });
  afterAll(() => store.close());

  describe('plain values', () => {
    it('reads back what was written, and undefined for a key never written', async () => {
      await store.set('rt:a', 'value with "quotes", :colons and ünïcode', LONG);
      expect(await store.get('rt:a')).toBe('value with "quotes", :colons and ünïcode');
      expect(await store.get('rt:never')).toBeUndefined();
    });

    it('a value starting with a colon survives the round trip (Keyv escapes it)', async () => {
      await store.set('rt:colon', ':starts-with-colon', LONG);
      expect(await store.get('rt:colon')).toBe(':starts-with-colon');
    });

    it('a negative TTL expires (never means "keep forever"), for values and map fields', async () => {
      await store.set('ttl:negative', 'x', -5_000);
      await store.mapSet('map:negative', 'f', 'x', -5_000);
      await eventually(async () => (await store.get('ttl:negative')) === undefined, 'negative TTL expired');
      await eventually(async () => (await store.mapGetAll('map:negative')).size === 0, 'negative field TTL expired');
    });

    it('a value with a short TTL disappears; one with TTL 0 stays', async () => {
      await store.set('ttl:short', 'x', SHORT);
      await store.set('ttl:none', 'y', 0);
      expect(await store.get('ttl:short')).toBe('x');
      await eventually(async () => (await store.get('ttl:short')) === undefined, 'short TTL expired');
      expect(await store.get('ttl:none')).toBe('y');
    });

    it('delete removes the value, and deleting a missing key is fine', async () => {
      await store.set('del:a', 'x', LONG);
      await expect(store.delete('del:a')).resolves.toBe(true);
      expect(await store.get('del:a')).toBeUndefined();
      await expect(store.delete('del:a')).resolves.toBe(false);
    });
  });

  describe('conditional writes', () => {
    it('add writes only when the key is absent', async () => {
      expect(await store.add('add:a', 'first', LONG)).toBe(true);
      expect(await store.add('add:a', 'second', LONG)).toBe(false);
      expect(await store.get('add:a')).toBe('first');
    });

    it('add treats an expired key as absent', async () => {
      expect(await store.add('add:exp', 'old', SHORT)).toBe(true);
      await eventually(async () => (await store.get('add:exp')) === undefined, 'add:exp expired');
      expect(await store.add('add:exp', 'new', LONG)).toBe(true);
      expect(await store.get('add:exp')).toBe('new');
    });

    it('replace writes only when the key is present, and never creates it', async () => {
      expect(await store.replace('rep:a', 'x', LONG)).toBe(false);
      expect(await store.get('rep:a')).toBeUndefined();
      await store.set('rep:a', 'old', LONG);
      expect(await store.replace('rep:a', 'new', LONG)).toBe(true);
      expect(await store.get('rep:a')).toBe('new');
      await store.delete('rep:a');
      expect(await store.replace('rep:a', 'resurrected', LONG)).toBe(false);
      expect(await store.get('rep:a')).toBeUndefined();
    });

    it('replace sets the new TTL', async () => {
      await store.set('rep:ttl', 'a', LONG);
      expect(await store.replace('rep:ttl', 'b', SHORT)).toBe(true);
      await eventually(async () => (await store.get('rep:ttl')) === undefined, 'replaced value expired');
    });

    it('of 20 concurrent adds of one key exactly one wins, and its value is stored', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.add('add:race', `writer-${i}`, LONG)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.get('add:race')).toBe(`writer-${results.indexOf(true)}`);
    });
  });

  describe('maps (the per-user session index)', () => {
    it('keeps fields per key, deletes one field, and answers an empty map for an unknown key', async () => {
      await store.mapSet('u:alice:sessions', 'one', '{"n":1}', LONG);
      await store.mapSet('u:alice:sessions', 'two', '{"n":2}', LONG);
      await store.mapSet('u:bob:sessions', 'three', '{"n":3}', LONG);
      expect(await store.mapGetAll('u:alice:sessions')).toEqual(new Map([['one', '{"n":1}'], ['two', '{"n":2}']]));
      await store.mapDelete('u:alice:sessions', 'one');
      await store.mapDelete('u:alice:sessions', 'not-there');
      expect(await store.mapGetAll('u:alice:sessions')).toEqual(new Map([['two', '{"n":2}']]));
      expect(await store.mapGetAll('u:bob:sessions')).toEqual(new Map([['three', '{"n":3}']]));
      expect(await store.mapGetAll('u:nobody:sessions')).toEqual(new Map());
    });

    it('overwrites a field in place', async () => {
      await store.mapSet('map:over', 'f', 'v1', LONG);
      await store.mapSet('map:over', 'f', 'v2', LONG);
      expect(await store.mapGetAll('map:over')).toEqual(new Map([['f', 'v2']]));
    });

    it('a field with a short TTL disappears while a long-lived one in the same map stays', async () => {
      await store.mapSet('map:ttl', 'long', 'L', LONG);
      await store.mapSet('map:ttl', 'short', 'S', SHORT);
      await eventually(async () => !(await store.mapGetAll('map:ttl')).has('short'), 'short field expired');
      expect(await store.mapGetAll('map:ttl')).toEqual(new Map([['long', 'L']]));
    });

    it('50 concurrent mapSets on one key all survive', async () => {
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.mapSet('map:race', `f${i}`, `v${i}`, LONG)));
      const map = await store.mapGetAll('map:race');
      expect(map.size).toBe(50);
      for (let i = 0; i < 50; i += 1) expect(map.get(`f${i}`)).toBe(`v${i}`);
    });

    it('concurrent mapSets and mapDeletes on one key leave exactly the fields not deleted', async () => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.mapSet('map:mix', `f${i}`, 'v', LONG)));
      await Promise.all([
        ...Array.from({ length: 10 }, (_, i) => store.mapDelete('map:mix', `f${i}`)),
        ...Array.from({ length: 10 }, (_, i) => store.mapSet('map:mix', `g${i}`, 'v', LONG)),
      ]);
      const fields = [...(await store.mapGetAll('map:mix')).keys()].sort();
      const expected = [...Array.from({ length: 10 }, (_, i) => `f${i + 10}`), ...Array.from({ length: 10 }, (_, i) => `g${i}`)].sort();
      expect(fields).toEqual(expected);
    });
  });

  describe('when the backend fails', () => {
    let broken: KeyValueStore;
    beforeAll(async () => {
      broken = await backend.openBroken(300);
    });
    afterAll(() => broken.close().catch(() => undefined));

    it('every operation rejects with StoreUnavailableError, never a silent undefined or false', async () => {
      const calls: [string, () => Promise<unknown>][] = [
        ['get', () => broken.get('k')],
        ['set', () => broken.set('k', 'v', LONG)],
        ['add', () => broken.add('k', 'v', LONG)],
        ['replace', () => broken.replace('k', 'v', LONG)],
        ['delete', () => broken.delete('k')],
        ['mapSet', () => broken.mapSet('m', 'f', 'v', LONG)],
        ['mapDelete', () => broken.mapDelete('m', 'f')],
        ['mapGetAll', () => broken.mapGetAll('m')],
        ['ping', () => broken.ping()],
      ];
      for (const [name, call] of calls) {
        await expect(call(), name).rejects.toBeInstanceOf(StoreUnavailableError);
      }
    });
  });
});

describeEachBackend(
  'two store instances on one shared backend (two processes)',
  (backendOf) => {
    let first: KeyValueStore;
    let second: KeyValueStore;
    beforeAll(async () => {
      first = await backendOf().open();
      second = await backendOf().open();
    });
    afterAll(async () => {
      await first.close();
      await second.close();
    });

    it('see each other’s writes', async () => {
      await first.set('shared:a', 'from-first', LONG);
      expect(await second.get('shared:a')).toBe('from-first');
    });

    it('of 20 concurrent adds split across instances exactly one wins', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? first : second).add('shared:race', `w${i}`, LONG)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('50 concurrent mapSets split across instances all survive', async () => {
      await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? first : second).mapSet('shared:map', `f${i}`, 'v', LONG)));
      expect((await first.mapGetAll('shared:map')).size).toBe(50);
    });

    it('a replace racing a delete from the other instance never resurrects the key', async () => {
      for (let round = 0; round < 20; round += 1) {
        const key = `shared:rep:${round}`;
        await first.set(key, 'live', LONG);
        await Promise.all([second.delete(key), first.replace(key, 'touched', LONG)]);
        expect(await first.get(key)).toBeUndefined();
      }
    });
  },
  ['redis', 'postgres'],
);
