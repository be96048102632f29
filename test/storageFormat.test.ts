import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sealer } from '../server/session/sealer.js';
import { newSessionId, publicIdOf, storeKeyOf } from '../server/session/sessionId.js';
import { formatOneRecord, recordFor, sessionStoreOver, TEST_LIMITS } from './helpers/sessionStores.js';
import { legacyTestStoreSecret, TEST_STORE_SECRET } from './helpers/storeSecret.js';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { MemoryKeyValueStore } from '../server/store/memoryKeyValueStore.js';
import { describeEachBackend } from './helpers/backends.js';
import { ManualClock } from './helpers/clock.js';
import { rawRedis } from './helpers/rawRedis.js';
import { TEST_KEY } from './helpers/server.js';

/** `legacyUntil`: the store held what 0.2 wrote (its index keys are read until then). */
function sessionsOver(kv: KeyValueStore, legacyUntil = 0) {
  const clock = new ManualClock();
  const sealer = new Sealer([TEST_KEY]);
  const sessions = sessionStoreOver(kv, sealer, clock, TEST_LIMITS, legacyTestStoreSecret(legacyUntil));
  const record = (uid: string) => recordFor(uid, clock);
  return { clock, sealer, sessions, record };
}

describe('session records at rest: compact, and earlier formats still read', () => {
  it('the sealed plaintext is a bare JSON array: format version 2, then user, data, four fields and the generation, no record field names', async () => {
    const kv = new MemoryKeyValueStore();
    const { sealer, sessions, record } = sessionsOver(kv);
    const id = newSessionId();
    const created = record('u-1');
    await sessions.create(id, created);
    const key = storeKeyOf(id);
    const plaintext = sealer.open((await kv.get(key))!, key)!.plaintext;
    // This version's generations start at 2^40 (below it: 0.2's), so a record always carries one.
    expect(JSON.parse(plaintext)).toEqual([2, { id: 'u-1', username: 'name-u-1', role: 'user' }, {}, created.createdAt, created.lastSeen, created.authAt, 'Firefox', 1_099_511_627_776]);
    expect((await sessions.load(id))?.record).toEqual(created);
    // The index holds only the store key, under a key that names the user only through the store secret.
    expect(await kv.mapGetAll(TEST_STORE_SECRET.keyOf('si', 'u-1'))).toEqual(new Map([[publicIdOf(id), key]]));
    expect(await kv.mapGetAll('u:u-1:sessions')).toEqual(new Map());
  });

  it('a record and an index entry written as JSON objects by an earlier version still load, list and revoke', async () => {
    const kv = new MemoryKeyValueStore();
    const { sealer, sessions } = sessionsOver(kv, Date.now() + 3_600_000);
    const id = newSessionId();
    const key = storeKeyOf(id);
    const old = formatOneRecord('u-old', new ManualClock());
    await kv.set(key, sealer.seal(JSON.stringify(old), key), 60_000);
    await kv.mapSet('u:u-old:sessions', publicIdOf(id), JSON.stringify({ key, createdAt: old.createdAt, ua: old.ua }), 60_000);
    const loaded = await sessions.load(id);
    // Format 1 reads as format 2: the built-in user, no data, the login as the last authentication; rewritten on this request.
    expect(loaded?.record).toEqual({ v: 2, user: { id: 'u-old', username: 'name-u-old', role: 'user' }, data: {}, createdAt: old.createdAt, lastSeen: old.lastSeen, authAt: old.createdAt, ua: 'Firefox', gen: 0, carrier: 'cookie' });
    expect(loaded?.rotated).toBe(true);
    expect((await sessions.listForUser('u-old')).map((s) => s.publicId)).toEqual([publicIdOf(id)]);
    expect(await sessions.removeByPublicId('u-old', publicIdOf(id))).toBe(true);
    expect(await sessions.load(id)).toBeUndefined();
  });

  it('a record format 1 wrote as a bare array still loads', async () => {
    const kv = new MemoryKeyValueStore();
    const { clock, sealer, sessions } = sessionsOver(kv);
    const id = newSessionId();
    const key = storeKeyOf(id);
    const [created, seen] = [clock.now() - 2_000, clock.now() - 1_000];
    await kv.set(key, sealer.seal(`[1,"u-1","alice","admin",${created},${seen},null]`, key), 60_000);
    expect((await sessions.load(id))?.record).toEqual({ v: 2, user: { id: 'u-1', username: 'alice', role: 'admin' }, data: {}, createdAt: created, lastSeen: seen, authAt: created, ua: null, gen: 0, carrier: 'cookie' });
  });

  it.each([
    ['an extra field', '[2,{"id":"u-1","username":"n","role":"user"},{},1,1,1,null,"extra"]'],
    ['a missing field', '[2,{"id":"u-1","username":"n","role":"user"},{},1,1,1]'],
    ['an unknown format version', '[3,{"id":"u-1","username":"n","role":"user"},{},1,1,1,null]'],
    ['a role the user schema does not know', '[2,{"id":"u-1","username":"n","role":"root"},{},1,1,1,null]'],
    ['a format-1 record with a role the user schema does not know', '[1,"u-1","n","root",1,1,null]'],
    ['a string timestamp', '[2,{"id":"u-1","username":"n","role":"user"},{},"1",1,1,null]'],
    ['an empty user id', '[2,{"id":"","username":"n","role":"user"},{},1,1,1,null]'],
    ['data that is not an object', '[2,{"id":"u-1","username":"n","role":"user"},[],1,1,1,null]'],
  ])('a record with %s is no session and is dropped', async (_label, plaintext) => {
    const kv = new MemoryKeyValueStore();
    const { sealer, sessions } = sessionsOver(kv);
    const id = newSessionId();
    const key = storeKeyOf(id);
    await kv.set(key, sealer.seal(plaintext, key), 60_000);
    expect(await sessions.load(id)).toBeUndefined();
    expect(await kv.get(key)).toBeUndefined();
  });
});

describeEachBackend(
  'the Redis format',
  (backendOf) => {
    let store: KeyValueStore;
    let redis: Awaited<ReturnType<typeof rawRedis>>;
    const prefixed = (key: string) => `${backendOf().namespace}::${key}`;
    beforeAll(async () => {
      store = await backendOf().open();
      redis = await rawRedis(backendOf().url);
    });
    afterAll(async () => {
      await store.close();
      await redis.close();
    });

    it('stores a value as it is (no wrapper) with a native TTL', async () => {
      await store.set('fmt:plain', 'v1.abc.def', 60_000);
      expect(await redis.command(['GET', prefixed('fmt:plain')])).toBe('v1.abc.def');
      const ttl = Number(await redis.command(['PTTL', prefixed('fmt:plain')]));
      expect(ttl).toBeGreaterThan(55_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    });

    it("reads values an earlier version wrote in Keyv's wrapper, honouring their expiry", async () => {
      await redis.command(['SET', prefixed('fmt:legacy'), JSON.stringify({ value: '{"id":"u-1"}', expires: Date.now() + 60_000 })]);
      await redis.command(['SET', prefixed('fmt:legacy-forever'), JSON.stringify({ value: 'kept' })]);
      await redis.command(['SET', prefixed('fmt:legacy-expired'), JSON.stringify({ value: 'gone', expires: Date.now() - 1 })]);
      expect(await store.get('fmt:legacy')).toBe('{"id":"u-1"}');
      expect(await store.get('fmt:legacy-forever')).toBe('kept');
      expect(await store.get('fmt:legacy-expired')).toBeUndefined();
    });

    it("unescapes a leading colon the way Keyv's serializer stored it", async () => {
      await redis.command(['SET', prefixed('fmt:legacy-colon'), JSON.stringify({ value: '::starts-with-colon' })]);
      expect(await store.get('fmt:legacy-colon')).toBe(':starts-with-colon');
    });

    it('compareAndSet matches a value in Keyv\'s wrapper by what get reads from it, so records from before the upgrade can change', async () => {
      await redis.command(['SET', prefixed('fmt:cas-legacy'), JSON.stringify({ value: '{"id":"u-1","version":1}' })]);
      expect(await store.compareAndSet('fmt:cas-legacy', JSON.stringify({ value: '{"id":"u-1","version":1}' }), 'x', 60_000)).toBe(false);
      expect(await store.compareAndSet('fmt:cas-legacy', '{"id":"u-1","version":1}', '{"id":"u-1","version":2}', 0)).toBe(true);
      expect(await redis.command(['GET', prefixed('fmt:cas-legacy')])).toBe('{"id":"u-1","version":2}');

      await redis.command(['SET', prefixed('fmt:cas-colon'), JSON.stringify({ value: '::x' })]);
      expect(await store.compareAndSet('fmt:cas-colon', ':x', 'y', 60_000)).toBe(true);
      // A wrapper whose own expiry has passed is no live value, even before Redis drops the key.
      await redis.command(['SET', prefixed('fmt:cas-expired'), JSON.stringify({ value: 'old', expires: Date.now() - 1 })]);
      expect(await store.compareAndSet('fmt:cas-expired', 'old', 'new', 60_000)).toBe(false);
    });

    it('keeps a session index entry within 64 bytes, so Redis keeps small indexes in its compact listpack', async () => {
      const { sessions, record } = sessionsOver(store);
      for (let i = 0; i < 3; i += 1) await sessions.create(newSessionId(), record('u-fmt'));
      const index = prefixed(TEST_STORE_SECRET.keyOf('si', 'u-fmt'));
      const fields = (await redis.command(['HGETALL', index])) as string[];
      expect(fields).toHaveLength(6);
      for (const text of fields) expect(Buffer.byteLength(text)).toBeLessThanOrEqual(64);
      expect(await redis.command(['OBJECT', 'ENCODING', index])).toBe('listpack');
      expect((await sessions.listForUser('u-fmt')).length).toBe(3);
    });

    it('reads map fields an earlier version wrote as JSON', async () => {
      await redis.command(['HSET', prefixed('fmt:map'), 'old', JSON.stringify({ v: 'x', exp: Date.now() + 60_000 }), 'dead', JSON.stringify({ v: 'y', exp: Date.now() - 1 })]);
      expect(await store.mapGetAll('fmt:map')).toEqual(new Map([['old', 'x']]));
    });
  },
  ['redis'],
);
