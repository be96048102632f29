import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { StoreUnavailableError } from '../server/store/storeErrors.js';
import { type Backend, describeEachBackend, WITH_KEYV } from './helpers/backends.js';

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

describeEachBackend(
  'the KeyValueStore contract',
  (backendOf) => {
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

    it('of 20 concurrent deletes of one key exactly one sees true', async () => {
      await store.set('del:race', 'x', LONG);
      const results = await Promise.all(Array.from({ length: 20 }, () => store.delete('del:race')));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.get('del:race')).toBeUndefined();
    });
  });

  describe('take (a logout that must learn what it ended)', () => {
    it('removes the value and resolves it; a second take, or a take of a missing key, resolves undefined', async () => {
      await store.set('take:a', 'the value', LONG);
      await expect(store.take('take:a')).resolves.toBe('the value');
      expect(await store.get('take:a')).toBeUndefined();
      await expect(store.take('take:a')).resolves.toBeUndefined();
      await expect(store.take('take:never')).resolves.toBeUndefined();
    });

    it('an expired value is not taken (it was already gone)', async () => {
      await store.set('take:expired', 'x', -5_000);
      await eventually(async () => (await store.get('take:expired')) === undefined, 'expired');
      await expect(store.take('take:expired')).resolves.toBeUndefined();
    });

    it('of 20 concurrent takes of one key exactly one gets the value', async () => {
      await store.set('take:race', 'prize', LONG);
      const results = await Promise.all(Array.from({ length: 20 }, () => store.take('take:race')));
      expect(results.filter((value) => value === 'prize')).toHaveLength(1);
      expect(results.filter((value) => value === undefined)).toHaveLength(19);
    });

    it('a take racing a compareAndSet: either the swap lands and the take gets the new value, or the take wins and the swap finds nothing', async () => {
      for (let round = 0; round < 10; round += 1) {
        const key = `take:cas:${round}`;
        await store.set(key, 'old', LONG);
        const [taken, swapped] = await Promise.all([store.take(key), store.compareAndSet(key, 'old', 'new', LONG)]);
        expect(taken).toBe(swapped ? 'new' : 'old');
        expect(await store.get(key)).toBeUndefined();
      }
    });
  });

  describe('increment (the per-user session generation)', () => {
    it('counts up from 1 and is read back with get as the integer', async () => {
      await expect(store.increment('gen:a')).resolves.toBe(1);
      await expect(store.increment('gen:a')).resolves.toBe(2);
      expect(await store.get('gen:a')).toBe('2');
    });

    it('never expires, and a value that is not an integer starts over at 1', async () => {
      await store.set('gen:odd', 'not a number', SHORT);
      await expect(store.increment('gen:odd')).resolves.toBe(1);
      await new Promise((resolve) => setTimeout(resolve, SHORT * 2));
      expect(await store.get('gen:odd')).toBe('1');
    });

    it('50 concurrent increments each see a different value, and the last is stored', async () => {
      const values = await Promise.all(Array.from({ length: 50 }, () => store.increment('gen:race')));
      expect(new Set(values).size).toBe(50);
      expect(Math.max(...values)).toBe(50);
      expect(await store.get('gen:race')).toBe('50');
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

  describe('compareAndSet (account changes, L10)', () => {
    it('writes only when the live value is exactly the expected one', async () => {
      await store.set('cas:a', 'v1', LONG);
      expect(await store.compareAndSet('cas:a', 'v0', 'v2', LONG)).toBe(false);
      expect(await store.compareAndSet('cas:a', 'v1 ', 'v2', LONG)).toBe(false);
      expect(await store.get('cas:a')).toBe('v1');
      expect(await store.compareAndSet('cas:a', 'v1', 'v2', LONG)).toBe(true);
      expect(await store.get('cas:a')).toBe('v2');
      // The swap consumed "v1": repeating it is a lost race, not a second win.
      expect(await store.compareAndSet('cas:a', 'v1', 'v3', LONG)).toBe(false);
      expect(await store.get('cas:a')).toBe('v2');
    });

    it('never creates a key, not even when expected is empty', async () => {
      expect(await store.compareAndSet('cas:missing', '', 'x', LONG)).toBe(false);
      expect(await store.compareAndSet('cas:missing', 'anything', 'x', LONG)).toBe(false);
      expect(await store.get('cas:missing')).toBeUndefined();
    });

    it('an expired value does not match, and is not brought back', async () => {
      await store.set('cas:expired', 'old', SHORT);
      await eventually(async () => (await store.get('cas:expired')) === undefined, 'cas:expired expired');
      expect(await store.compareAndSet('cas:expired', 'old', 'new', LONG)).toBe(false);
      expect(await store.get('cas:expired')).toBeUndefined();
    });

    it('a deleted value does not match', async () => {
      await store.set('cas:deleted', 'v', LONG);
      await store.delete('cas:deleted');
      expect(await store.compareAndSet('cas:deleted', 'v', 'w', LONG)).toBe(false);
      expect(await store.get('cas:deleted')).toBeUndefined();
    });

    it('sets the TTL it is given: a short one expires, 0 keeps the value, a negative one expires', async () => {
      await store.set('cas:ttl', 'a', 0);
      expect(await store.compareAndSet('cas:ttl', 'a', 'b', SHORT)).toBe(true);
      await eventually(async () => (await store.get('cas:ttl')) === undefined, 'swapped value expired');

      await store.set('cas:forever', 'a', SHORT);
      expect(await store.compareAndSet('cas:forever', 'a', 'b', 0)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, SHORT + 100));
      expect(await store.get('cas:forever')).toBe('b');

      await store.set('cas:negative', 'a', LONG);
      expect(await store.compareAndSet('cas:negative', 'a', 'b', -5_000)).toBe(true);
      await eventually(async () => (await store.get('cas:negative')) === undefined, 'negative TTL expired');
    });

    it('of 20 concurrent swaps from the same value exactly one wins, and its value is stored', async () => {
      await store.set('cas:race', 'start', LONG);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.compareAndSet('cas:race', 'start', `writer-${i}`, LONG)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.get('cas:race')).toBe(`writer-${results.indexOf(true)}`);
    });

    it('20 concurrent read-and-swap loops lose no update', async () => {
      await store.set('cas:chain', '0', LONG);
      const increment = async () => {
        for (;;) {
          const seen = (await store.get('cas:chain'))!;
          if (await store.compareAndSet('cas:chain', seen, String(Number(seen) + 1), LONG)) return;
        }
      };
      await Promise.all(Array.from({ length: 20 }, increment));
      expect(await store.get('cas:chain')).toBe('20');
    });
  });

  describe('addToCounter (login throttling across instances)', () => {
    // The caller's clock, far from the real one on purpose: the backend's clock must not decide.
    const T0 = 1_000_000;
    const WINDOW = 60_000;

    it('starts at delta with the window from nowMs, adds while the window lasts, and keeps its end', async () => {
      expect(await store.addToCounter('ctr:a', 1, T0, WINDOW)).toEqual({ count: 1, expiresAt: T0 + WINDOW });
      expect(await store.addToCounter('ctr:a', 2, T0 + 10, WINDOW)).toEqual({ count: 3, expiresAt: T0 + WINDOW });
      expect(await store.addToCounter('ctr:a', 1, T0 + WINDOW - 1, 5)).toEqual({ count: 4, expiresAt: T0 + WINDOW });
    });

    it('restarts when the window has ended at the caller’s nowMs (expiresAt <= nowMs)', async () => {
      await store.addToCounter('ctr:end', 5, T0, WINDOW);
      expect(await store.addToCounter('ctr:end', 1, T0 + WINDOW, WINDOW)).toEqual({ count: 1, expiresAt: T0 + 2 * WINDOW });
    });

    it('goes by the caller’s clock, not the backend’s: a window a year ahead of now is live, one far behind has ended', async () => {
      const future = Date.now() + 365 * 86_400_000;
      expect(await store.addToCounter('ctr:future', 1, future, WINDOW)).toEqual({ count: 1, expiresAt: future + WINDOW });
      expect(await store.addToCounter('ctr:future', 1, future + WINDOW - 1, WINDOW)).toEqual({ count: 2, expiresAt: future + WINDOW });
      // T0 is in 1970 for the backend, yet the counter lives: only nowMs decides.
      await store.addToCounter('ctr:past', 1, T0, WINDOW);
      expect(await store.addToCounter('ctr:past', 1, T0 + 1, WINDOW)).toEqual({ count: 2, expiresAt: T0 + WINDOW });
    });

    it('a delta <= 0 on a missing or ended counter writes nothing and resolves { count: 0, expiresAt: 0 }', async () => {
      expect(await store.addToCounter('ctr:none', -1, T0, WINDOW)).toEqual({ count: 0, expiresAt: 0 });
      expect(await store.addToCounter('ctr:none', 0, T0, WINDOW)).toEqual({ count: 0, expiresAt: 0 });
      expect(await store.get('ctr:none')).toBeUndefined();
      await store.addToCounter('ctr:ended', 3, T0, WINDOW);
      expect(await store.addToCounter('ctr:ended', -1, T0 + WINDOW, WINDOW)).toEqual({ count: 0, expiresAt: 0 });
    });

    it('a negative delta on a live counter subtracts, below zero too', async () => {
      await store.addToCounter('ctr:down', 2, T0, WINDOW);
      expect(await store.addToCounter('ctr:down', -1, T0 + 1, WINDOW)).toEqual({ count: 1, expiresAt: T0 + WINDOW });
      expect(await store.addToCounter('ctr:down', -3, T0 + 2, WINDOW)).toEqual({ count: -2, expiresAt: T0 + WINDOW });
      expect(await store.get('ctr:down')).toBe(`-2|${T0 + WINDOW}`);
    });

    it('window 0 never ends, whatever nowMs says later', async () => {
      expect(await store.addToCounter('ctr:forever', 1, T0, 0)).toEqual({ count: 1, expiresAt: 0 });
      expect(await store.addToCounter('ctr:forever', 1, Date.now() + 10 * 365 * 86_400_000, 0)).toEqual({ count: 2, expiresAt: 0 });
      expect(await store.get('ctr:forever')).toBe('2|0');
    });

    it('is readable with get as <count>|<expiresAt>, and a value set over it is read back as a counter', async () => {
      await store.addToCounter('ctr:raw', 7, T0, WINDOW);
      expect(await store.get('ctr:raw')).toBe(`7|${T0 + WINDOW}`);
      await store.set('ctr:raw', `40|${T0 + 2 * WINDOW}`, LONG);
      expect(await store.addToCounter('ctr:raw', 2, T0 + WINDOW, WINDOW)).toEqual({ count: 42, expiresAt: T0 + 2 * WINDOW });
    });

    it('a value that is not a counter is replaced by a fresh one (positive delta) or left alone (delta <= 0)', async () => {
      await store.set('ctr:junk', 'not a counter', LONG);
      expect(await store.addToCounter('ctr:junk', -1, T0, WINDOW)).toEqual({ count: 0, expiresAt: 0 });
      expect(await store.get('ctr:junk')).toBe('not a counter');
      expect(await store.addToCounter('ctr:junk', 1, T0, WINDOW)).toEqual({ count: 1, expiresAt: T0 + WINDOW });
    });

    it('50 concurrent increments each see a different count, and the sum is stored', async () => {
      const now = Date.now();
      const counts = await Promise.all(Array.from({ length: 50 }, () => store.addToCounter('ctr:race', 1, now, WINDOW)));
      expect(counts.map((c) => c.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(await store.get('ctr:race')).toBe(`50|${now + WINDOW}`);
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

  describe('keysWithPrefix (start-up upgrades finding what an earlier version wrote)', () => {
    const sorted = async (prefix: string, limit = 100) => [...(await store.keysWithPrefix!(prefix, limit))].sort();

    it('lists exactly the live keys written under the prefix, values and maps alike, without the namespace', async () => {
      await store.set('kp:a:1', 'x', LONG);
      await store.set('kp:a:2', 'x', 0);
      await store.mapSet('kp:a:m', 'f', 'v', LONG);
      await store.set('kp:b:1', 'x', LONG);
      await store.set('kp:ab', 'x', LONG);
      await store.mapSet('kp:b:m', 'f', 'v', LONG);
      // Another case is another key (LIKE is case-insensitive in SQLite). Not kp:A:1: MariaDB's key column would take it for kp:a:1.
      await store.set('KP:A:9', 'x', LONG);
      await store.set('kp:A:8', 'x', LONG);
      expect(await sorted('kp:a:')).toEqual(['kp:a:1', 'kp:a:2', 'kp:a:m']);
      expect(await sorted('kp:A:')).toEqual(['kp:A:8']);
      expect(await sorted('kp:b:')).toEqual(['kp:b:1', 'kp:b:m']);
      expect(await sorted('kp:nothing:')).toEqual([]);
    });

    it('leaves out expired values and maps, and deleted ones; a map with one live field is listed', async () => {
      await store.set('kpx:gone', 'x', SHORT);
      await store.mapSet('kpx:map-gone', 'f', 'v', SHORT);
      await store.mapSet('kpx:half', 'long', 'L', LONG);
      await store.mapSet('kpx:half', 'short', 'S', SHORT);
      await store.set('kpx:stays', 'x', LONG);
      await store.set('kpx:deleted', 'x', LONG);
      await store.mapSet('kpx:map-emptied', 'f', 'v', LONG);
      await store.delete('kpx:deleted');
      await store.mapDelete('kpx:map-emptied', 'f');
      await eventually(async () => (await store.get('kpx:gone')) === undefined, 'kpx:gone expired');
      await eventually(async () => (await store.mapGetAll('kpx:map-gone')).size === 0, 'kpx:map-gone expired');
      await eventually(async () => !(await store.mapGetAll('kpx:half')).has('short'), 'kpx:half short field expired');
      expect(await sorted('kpx:')).toEqual(['kpx:half', 'kpx:stays']);
    });

    it('answers at most `limit` keys, each once, all under the prefix', async () => {
      const written = ['kpl:v1', 'kpl:v2', 'kpl:v3', 'kpl:m1', 'kpl:m2'];
      for (const key of written.slice(0, 3)) await store.set(key, 'x', LONG);
      for (const key of written.slice(3)) await store.mapSet(key, 'f', 'v', LONG);
      const two = await store.keysWithPrefix!('kpl:', 2);
      expect(two).toHaveLength(2);
      expect(new Set(two).size).toBe(2);
      for (const key of two) expect(written).toContain(key);
      expect(await sorted('kpl:', 5)).toEqual([...written].sort());
      expect(await sorted('kpl:', 50)).toEqual([...written].sort());
      expect(await store.keysWithPrefix!('kpl:', 0)).toEqual([]);
    });

    it('takes %, _, *, ?, [, ] and \\ in the prefix literally (no LIKE or glob wildcard)', async () => {
      const prefix = 'lit:%_*?[a]\\';
      await store.set(`${prefix}1`, 'x', LONG);
      await store.mapSet(`${prefix}m`, 'f', 'v', LONG);
      // Each would match if one special character of the prefix acted as a wildcard.
      const decoys = ['lit:X_*?[a]\\2', 'lit:%X*?[a]\\3', 'lit:%_XX?[a]\\4', 'lit:%_*X[a]\\5', 'lit:%_*?a\\6', 'lit:%_*?[a]X7', 'lit:%_*?[a]8'];
      for (const key of decoys) await store.set(key, 'x', LONG);
      expect(await sorted(prefix)).toEqual([`${prefix}1`, `${prefix}m`].sort());
      expect(await sorted('lit:%_')).toEqual([...decoys.filter((key) => key.startsWith('lit:%_')), `${prefix}1`, `${prefix}m`].sort());
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
        ['compareAndSet', () => broken.compareAndSet('k', 'v', 'w', LONG)],
        ['addToCounter', () => broken.addToCounter('k', 1, Date.now(), LONG)],
        ['delete', () => broken.delete('k')],
        ['take', () => broken.take('k')],
        ['increment', () => broken.increment('k')],
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
},
  [...WITH_KEYV, 'redis-cluster', 'redis-sentinel'],
);

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

    it('of 20 concurrent takes split across instances exactly one gets the value', async () => {
      await first.set('shared:take', 'prize', LONG);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? first : second).take('shared:take')));
      expect(results.filter((value) => value === 'prize')).toHaveLength(1);
    });

    it('40 concurrent increments split across instances count to 40', async () => {
      await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? first : second).increment('shared:gen')));
      expect(await first.get('shared:gen')).toBe('40');
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
  ['redis', 'postgres', 'redis-cluster', 'redis-sentinel'],
);
