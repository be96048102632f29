import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Clock } from '../server/clock.js';
import { type DeviceCredential, DeviceCredentials } from '../server/session/deviceCredentials.js';
import { GENERATION_ERA } from '../server/session/generations.js';
import { Sealer } from '../server/session/sealer.js';
import { SessionCore } from '../server/session/sessionCore.js';
import { newSessionId, publicIdOf, storeKeyOf } from '../server/session/sessionId.js';
import type { StoredUser } from '../server/session/sessionRecord.js';
import { SessionStore } from '../server/session/sessionStore.js';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { openStoreSecret, StoreSecret, legacyWindowOf } from '../server/store/storeSecret.js';
import { type Backend, describeEachBackend } from './helpers/backends.js';
import { ManualClock } from './helpers/clock.js';
import { TEST_KEY } from './helpers/server.js';
import { builtInCodec } from './helpers/sessionStores.js';
import { userKeysOf } from './helpers/storeSecret.js';

/**
 * Issue 21.1: no store key carries a user id (a store dump, or the Redis and
 * PostgreSQL instrumentations' record of each command, would show it). The
 * session index, the device index and the generation are keyed through the
 * store secret (`si:`, `di:`, `sg:`). A store 0.2 wrote (`u:<id>:sessions`,
 * `u:<id>:devices`, `g:<id>`) keeps its sessions and devices through the
 * secret's legacy window, and after it those keys are never touched again.
 */
const HOUR = 3_600_000;
const LIMITS = { idleMs: HOUR, absoluteMs: 24 * HOUR, maxPerUser: 10 };
const DEVICE_LIFETIME_MS = 30 * 24 * HOUR;
const WINDOW_MS = legacyWindowOf({ absoluteTimeoutMs: LIMITS.absoluteMs, staySignedInMs: DEVICE_LIFETIME_MS });
const ISSUE = { ua: 'Firefox', carrier: 'cookie' } as const;

/** A store that records the key of every call, and can run a step of another request just before a `get` of one key. */
function recording(store: KeyValueStore) {
  const touched: string[] = [];
  const control = { beforeGet: undefined as { key: string; run: () => Promise<void> } | undefined };
  const wrapped = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (typeof args[0] === 'string') touched.push(args[0]);
        const before = control.beforeGet;
        if (property === 'get' && before && before.key === args[0]) {
          control.beforeGet = undefined;
          await before.run();
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, touched, control };
}

/** The session layer as createGatehouse builds it (with "stay signed in"), over `store` and its secret. */
function layerOver(store: KeyValueStore, secret: StoreSecret, clock: Clock, limits = LIMITS) {
  const sealer = new Sealer([TEST_KEY]);
  const source = () => Promise.resolve(secret);
  const devices = new DeviceCredentials(store, sealer, source, clock, DEVICE_LIFETIME_MS);
  const sessions = new SessionStore(store, sealer, source, clock, limits, builtInCodec(), () => undefined, devices);
  const userOf = (id: string): StoredUser => ({ id, username: `name-${id}`, role: 'user' });
  const core = new SessionCore(sessions, clock, (id) => Promise.resolve(userOf(id)));
  return { sealer, devices, sessions, core, userOf, start: (id: string) => core.start(userOf(id), {}, ISSUE) };
}

const uniqueUser = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;
const byId = (ids: string[]) => [...ids].sort();
const listed = async (layer: ReturnType<typeof layerOver>, uid: string) => byId((await layer.sessions.listForUser(uid)).map((s) => s.publicId));

describeEachBackend('a store 0.2 wrote, through the legacy window and past it', (backendOf) => {
  let backend: Backend;
  let raw: KeyValueStore;
  let rec: ReturnType<typeof recording>;
  let clock: ManualClock;
  let secret: StoreSecret;
  let layer: ReturnType<typeof layerOver>;

  beforeAll(async () => {
    backend = backendOf();
    raw = await backend.open();
    rec = recording(raw);
    clock = new ManualClock();
    // What 0.2 left in the store before this version first started on it (a user's generation, never read again).
    await raw.increment(`g:${uniqueUser('seed')}`);
    secret = await openStoreSecret(rec.store, new Sealer([TEST_KEY]), clock, WINDOW_MS);
    layer = layerOver(rec.store, secret, clock);
  });
  afterAll(() => raw.close());

  /**
   * A user as 0.2 left them: one end-all behind them (`g:<id>` = 1), two
   * sessions of that generation (0.2's format 2, its bare index entries
   * under `u:<id>:sessions`), and a remembered device (its series, indexed
   * under `u:<id>:devices`).
   */
  async function legacyUser(label: string) {
    const uid = uniqueUser(label);
    expect(await raw.increment(`g:${uid}`)).toBe(1);
    const ids = [newSessionId(), newSessionId()];
    for (const id of ids) {
      const key = storeKeyOf(id);
      const now = clock.now();
      const written = [2, layer.userOf(uid), {}, now, now, now, 'Firefox', 1];
      await raw.set(key, layer.sealer.seal(JSON.stringify(written), key), LIMITS.absoluteMs);
      await raw.mapSet(`u:${uid}:sessions`, publicIdOf(id), key, LIMITS.absoluteMs);
    }
    // The series as 0.2 sealed it (the same shape and key as now); its index entry moved to where 0.2 kept it.
    const device = await layer.devices.issue(uid, { authAt: clock.now(), ua: 'Firefox', carrier: 'cookie', gen: 1, startedKey: storeKeyOf(ids[0]!) });
    const current = userKeysOf(secret, uid).devices;
    const [[devicePublicId, seriesKey]] = [...(await raw.mapGetAll(current))] as [[string, string]];
    await raw.mapDelete(current, devicePublicId);
    await raw.mapSet(`u:${uid}:devices`, devicePublicId, seriesKey, DEVICE_LIFETIME_MS);
    return { uid, ids, device, devicePublicId, keys: userKeysOf(secret, uid) };
  }

  const live = async (id: string) => {
    const loaded = await layer.sessions.load(id);
    return loaded && { id, record: loaded.record, sealed: loaded.sealed };
  };
  const devicesOf = async (uid: string) =>
    (await layer.devices.list(uid, (userId, like) => layer.sessions.generationOf(userId, like))).map((series) => series.publicId).sort();

  it('opens a legacy window: the store held what 0.2 wrote (or cannot tell)', () => {
    expect(secret.legacyUntil).toBe(clock.now() + WINDOW_MS);
    expect(secret.readsLegacyAt(clock.now())).toBe(true);
  });

  it('lists the sessions and remembered devices 0.2 left next to new ones; a new session is of the new era', async () => {
    const user = await legacyUser('list');
    const fresh = await layer.start(user.uid);
    expect(fresh.record.gen).toBe(GENERATION_ERA);
    const remembered = await layer.core.rememberDevice(fresh);
    expect(await listed(layer, user.uid)).toEqual(byId([...user.ids.map(publicIdOf), publicIdOf(fresh.id)]));
    const newDevice = [...(await raw.mapGetAll(user.keys.devices)).keys()];
    expect(newDevice).toHaveLength(1);
    expect(remembered).toBeDefined();
    expect(await devicesOf(user.uid)).toEqual([user.devicePublicId, newDevice[0]!].sort());
    // New entries went to the new maps only.
    expect([...(await raw.mapGetAll(`u:${user.uid}:sessions`)).keys()].sort()).toEqual(byId(user.ids.map(publicIdOf)));
    expect([...(await raw.mapGetAll(user.keys.sessions)).keys()]).toEqual([publicIdOf(fresh.id)]);
  });

  it('revokes a session, and forgets a device, of 0.2 by its public id', async () => {
    const user = await legacyUser('revoke');
    const fresh = await layer.start(user.uid);
    expect(await layer.sessions.removeByPublicId(user.uid, publicIdOf(user.ids[0]!))).toBe(true);
    expect(await layer.sessions.load(user.ids[0]!)).toBeUndefined();
    expect([...(await raw.mapGetAll(`u:${user.uid}:sessions`)).keys()]).toEqual([publicIdOf(user.ids[1]!)]);
    expect(await listed(layer, user.uid)).toEqual(byId([publicIdOf(user.ids[1]!), publicIdOf(fresh.id)]));
    expect(await layer.devices.forgetByPublicId(user.uid, user.devicePublicId)).toBe(true);
    expect(await raw.mapGetAll(`u:${user.uid}:devices`)).toEqual(new Map());
    expect((await layer.core.resume(user.device, ISSUE)).kind).toBe('none');
  });

  it('the per-user cap counts the sessions 0.2 left, and ends one of them first (least recently used)', async () => {
    const user = await legacyUser('cap');
    const capped = layerOver(rec.store, secret, clock, { ...LIMITS, maxPerUser: 3 });
    clock.advance(1_000);
    const third = await capped.start(user.uid);
    clock.advance(1_000);
    const fourth = await capped.start(user.uid);
    const left = await listed(layer, user.uid);
    expect(left).toHaveLength(3);
    expect(left).toEqual(expect.arrayContaining([publicIdOf(third.id), publicIdOf(fourth.id)]));
    const ended = user.ids.filter((id) => !left.includes(publicIdOf(id)));
    expect(ended).toHaveLength(1);
    expect(await layer.sessions.load(ended[0]!)).toBeUndefined();
    expect((await raw.mapGetAll(`u:${user.uid}:sessions`)).size).toBe(1);
  });

  it('an end-all ends the sessions and devices of 0.2 and the new ones, and moves both generations', async () => {
    const user = await legacyUser('end-all');
    const fresh = await layer.start(user.uid);
    const { ended, generation } = await layer.sessions.endAllForUser(user.uid, undefined, 'revoked');
    expect(ended).toBe(3);
    expect(generation).toBe(GENERATION_ERA + 1);
    for (const id of [...user.ids, fresh.id]) expect(await layer.sessions.load(id)).toBeUndefined();
    expect(await raw.get(`g:${user.uid}`)).toBe('2');
    expect(await raw.get(user.keys.generation)).toBe('1');
    for (const index of [`u:${user.uid}:sessions`, `u:${user.uid}:devices`, user.keys.sessions, user.keys.devices]) expect(await raw.mapGetAll(index)).toEqual(new Map());
    expect((await layer.core.resume(user.device, ISSUE)).kind).toBe('none');
    expect((await layer.start(user.uid)).record.gen).toBe(GENERATION_ERA + 1);
  });

  it('a session 0.2 started rotates (keeping its generation, judged by 0.2’s counter) and keeps working; so does its device', async () => {
    const user = await legacyUser('rotate');
    const first = await layer.core.rotate((await live(user.ids[0]!))!, 'rotated');
    expect(first.record.gen).toBe(1);
    expect(await layer.sessions.load(user.ids[0]!)).toBeUndefined();
    const second = await layer.core.rotate((await live(first.id))!, 'rotated');
    expect((await layer.sessions.load(second.id))?.record.gen).toBe(1);
    expect(await listed(layer, user.uid)).toEqual(byId([publicIdOf(user.ids[1]!), publicIdOf(second.id)]));
    expect([...(await raw.mapGetAll(`u:${user.uid}:sessions`)).keys()]).toEqual([publicIdOf(user.ids[1]!)]);

    const resumed = await layer.core.resume(user.device, ISSUE);
    expect(resumed.kind).toBe('resumed');
    if (resumed.kind !== 'resumed') return;
    expect(resumed.live.record.gen).toBe(1);
    expect(resumed.credential).toBeDefined();
    expect(await layer.sessions.load(resumed.live.id)).toBeDefined();
  });

  it('a rotation of a session 0.2 started, racing an end-all, gives up: the generation moved under it', async () => {
    const user = await legacyUser('race');
    const other = await layer.start(user.uid);
    // The end-all's first step (both counters move, in the window) lands just before the rotation checks 0.2's counter.
    rec.control.beforeGet = {
      key: `g:${user.uid}`,
      run: async () => {
        await raw.increment(user.keys.generation);
        await raw.increment(`g:${user.uid}`);
      },
    };
    await expect(layer.core.rotate((await live(user.ids[0]!))!, 'rotated')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(rec.control.beforeGet).toBeUndefined();
    // Neither the old id (a tombstone now) nor the successor (given up) is a session; the rest are untouched.
    expect(await layer.sessions.load(user.ids[0]!)).toBeUndefined();
    expect(await listed(layer, user.uid)).toEqual(byId([publicIdOf(user.ids[1]!), publicIdOf(other.id)]));
    expect([...(await raw.mapGetAll(user.keys.sessions)).keys()]).toEqual([publicIdOf(other.id)]);
  });

  it('past the window, no key of 0.2 (u:, g:) is read or written, and nothing of 0.2’s era matches a generation', async () => {
    const user = await legacyUser('after');
    clock.advance(secret.legacyUntil - clock.now());
    expect(secret.readsLegacyAt(clock.now())).toBe(false);
    rec.touched.length = 0;

    const a = await layer.start(user.uid);
    const b = await layer.start(user.uid);
    const remembered = (await layer.core.rememberDevice(a))!;
    expect(await listed(layer, user.uid)).toEqual(byId([publicIdOf(a.id), publicIdOf(b.id)]));
    expect(await devicesOf(user.uid)).toHaveLength(1);
    const rotated = await layer.core.rotate(a, 'rotated');
    const resumed = await layer.core.resume(remembered.credential, ISSUE);
    expect(resumed.kind).toBe('resumed');
    expect(await layer.sessions.removeByPublicId(user.uid, publicIdOf(b.id))).toBe(true);
    // A record of 0.2's era (none can still be live by now: this one is planted) answers to no counter.
    const planted = newSessionId();
    await layer.sessions.create(planted, { v: 2, user: layer.userOf(user.uid), data: {}, createdAt: clock.now(), lastSeen: clock.now(), authAt: clock.now(), ua: null, gen: 1, carrier: 'cookie' });
    await expect(layer.core.rotate((await live(planted))!, 'rotated')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const { ended } = await layer.core.endOthers(rotated, 'revoked');
    expect(ended).toBe(1);
    expect(await layer.core.endAll(user.uid, 'revoked')).toBe(1);

    expect(rec.touched.length).toBeGreaterThan(20);
    expect(rec.touched.filter((key) => key.startsWith('u:') || key.startsWith('g:'))).toEqual([]);
  });
});

describeEachBackend('a store this version made: no key names a user', (backendOf) => {
  let backend: Backend;
  let raw: KeyValueStore;
  let rec: ReturnType<typeof recording>;
  const clock = new ManualClock();

  beforeAll(async () => {
    backend = backendOf();
    raw = await backend.open();
    rec = recording(raw);
  });
  afterAll(() => raw.close());

  it('after logins, listing, a revocation, an end-all and a device resumed, no key holds a user id, and none is 0.2’s', async () => {
    const opened = await openStoreSecret(raw, new Sealer([TEST_KEY]), clock, WINDOW_MS);
    // A store that can list its keys (memory) tells that 0.2 never wrote it; one that cannot assumes it did and opens a
    // window, so there the secret of a store 0.2 never wrote is given here.
    if (raw.keysWithPrefix) expect(opened.legacyUntil).toBe(0);
    const secret = opened.legacyUntil === 0 ? opened : new StoreSecret(randomBytes(32).toString('base64url'));
    const layer = layerOver(rec.store, secret, clock);
    const uids = [uniqueUser('fresh-one'), uniqueUser('fresh-two')];
    let credential: DeviceCredential | undefined;
    for (const uid of uids) {
      const first = await layer.start(uid);
      const second = await layer.start(uid);
      const remembered = (await layer.core.rememberDevice(first))!.credential;
      expect(await listed(layer, uid)).toEqual(byId([publicIdOf(first.id), publicIdOf(second.id)]));
      expect(await layer.devices.list(uid, (userId, like) => layer.sessions.generationOf(userId, like))).toHaveLength(1);
      expect(await layer.sessions.removeByPublicId(uid, publicIdOf(second.id))).toBe(true);
      clock.advance(LIMITS.idleMs / 2);
      const resumed = await layer.core.resume(remembered, ISSUE);
      expect(resumed.kind).toBe('resumed');
      credential = resumed.kind === 'resumed' ? resumed.credential : undefined;
      const loaded = (await layer.sessions.load(first.id))!;
      await layer.core.rotate({ id: first.id, record: loaded.record, sealed: loaded.sealed }, 'refreshed');
    }
    // The first user's rotated session and resumed one.
    expect(await layer.core.endAll(uids[0]!, 'revoked')).toBe(2);
    expect((await layer.core.resume(credential!, ISSUE)).kind).toBe('resumed');

    const named = (key: string) => uids.some((uid) => key.includes(uid));
    const legacy = (key: string) => /(^|:)(u|g):/.test(key);
    expect(rec.touched.filter((key) => named(key) || legacy(key))).toEqual([]);
    expect(rec.touched.filter((key) => /^(si|di|sg):/.test(key)).length).toBeGreaterThan(10);
    // The store as a dump shows it (with its namespace; SQL map fields as key#field).
    const keys = raw.keysWithPrefix ? await raw.keysWithPrefix('', 10_000) : [...(await backend.dump()).keys()];
    expect(keys.filter((key) => /(^|:)(si|sg|di):/.test(key)).length).toBeGreaterThanOrEqual(3);
    expect(keys.filter((key) => named(key) || legacy(key))).toEqual([]);
  });
});
