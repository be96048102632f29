import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPasswordHasher } from '../server/accounts/passwordHasher.js';
import { StoreUserDirectory } from '../server/accounts/userDirectory.js';
import { systemClock } from '../server/clock.js';
import { Sealer } from '../server/session/sealer.js';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { openStoreSecret, type StoreSecret } from '../server/store/storeSecret.js';
import { describeEachBackend, WITH_KEYV } from './helpers/backends.js';
import { startBackendServer } from './helpers/backendServer.js';
import { request, type RawResponse, sessionCookie } from './helpers/http.js';
import { prefixedStore, withoutListing } from './helpers/keySpaces.js';
import { type LogCapture, captureLogs } from './helpers/logCapture.js';
import { directoryOf, TEST_KEY, type TestServer } from './helpers/server.js';
import { storeSecretOf } from './helpers/storeSecret.js';

// Issue 21.1: the accounts Gatehouse 0.2 wrote in the clear (user:name:<login> → id, user:id:<id> → record JSON)
// move to the sealed keys, and nobody notices: the old login and password still sign in, the login stays taken.
const password = 'an old long password';
const DAY_MS = 86_400_000;

describeEachBackend(
  'the accounts 0.2 wrote',
  (backendOf) => {
    let store: KeyValueStore;
    let passwordHash: string;
    const servers: TestServer[] = [];
    let space = 0;
    beforeAll(async () => {
      store = await backendOf().open();
      passwordHash = await (await createPasswordHasher()).hash(password);
    });
    afterAll(async () => {
      await Promise.all(servers.map((srv) => srv.close()));
      await store?.close();
    });

    /** A key space of its own in this backend's namespace, as 0.2 left it: nothing yet, not even a store secret. */
    const freshSpace = () => prefixedStore(store, `m${(space += 1)}/`);

    /** Writes an account exactly as 0.2 did; resolves its id. */
    async function writeLegacy(kv: KeyValueStore, username: string, role: 'user' | 'admin' = 'user'): Promise<string> {
      const id = randomUUID();
      const record = { id, username, role, passwordHash, createdAt: 1_700_000_000_000, version: 3, disabled: false };
      await kv.set(`user:id:${id}`, JSON.stringify(record), 0);
      await kv.set(`user:name:${username}`, id, 0);
      return id;
    }
    /** A record 0.2 would not have read either, under a login of its own; resolves its id. */
    async function writeBroken(kv: KeyValueStore, username: string): Promise<string> {
      const id = randomUUID();
      await kv.set(`user:id:${id}`, '{"id":"truncated', 0);
      await kv.set(`user:name:${username}`, id, 0);
      return id;
    }
    /** The store's secret as the upgraded version makes it on its first start over `kv`. */
    async function upgrade(kv: KeyValueStore): Promise<StoreSecret> {
      const secret = await openStoreSecret(kv, new Sealer([TEST_KEY]), systemClock, DAY_MS);
      expect(secret.legacyUntil).toBeGreaterThan(0);
      return secret;
    }
    async function serverOn(kv: KeyValueStore, logs?: LogCapture): Promise<TestServer> {
      const srv = await startBackendServer(backendOf(), { store: kv, ...(logs ? { deps: { logger: logs.logger } } : {}) });
      servers.push(srv);
      return srv;
    }
    const call = (srv: TestServer, path: string, body: unknown, cookie?: string): Promise<RawResponse> =>
      request(`${srv.url}/trpc/${path}`, { body, ...(cookie ? { cookie } : {}) });
    const login = (srv: TestServer, username: string, pass = password) => call(srv, 'auth.login', { username, password: pass });
    const register = (srv: TestServer, username: string) => call(srv, 'auth.register', { username, password: 'a brand new password' });
    const legacyKeysOf = async (kv: KeyValueStore, username: string, id: string) =>
      [await kv.get(`user:name:${username}`), await kv.get(`user:id:${id}`)].filter((value) => value !== undefined);
    const warnings = (logs: LogCapture) => logs.entries().filter((entry) => entry.event === 'accounts.legacy_left');

    it('on a store that lists its keys, the first use moves every account: the old logins and passwords sign in, nothing is left in the clear but what cannot be read, reported once', async (ctx) => {
      if (!store.keysWithPrefix) ctx.skip();
      const kv = freshSpace();
      const alice = await writeLegacy(kv, 'old-alice');
      const bob = await writeLegacy(kv, 'old-bob', 'admin');
      const broken = await writeBroken(kv, 'old-broken');
      // A login whose record 0.2 deleted before it stopped (it deletes the record first): it names no account.
      await kv.set('user:name:old-ghost', randomUUID(), 0);
      await upgrade(kv);
      const logs = captureLogs('warn');
      const srv = await serverOn(kv, logs);

      expect((await login(srv, 'Old-Alice')).status).toBe(200);
      expect((await kv.keysWithPrefix!('user:', 100)).sort()).toEqual([`user:id:${broken}`, 'user:name:old-broken'].sort());
      expect(await kv.get(`user:id:${broken}`)).toBe('{"id":"truncated');
      expect(await directoryOf(srv.gatehouse).findByUsername('old-alice')).toMatchObject({ id: alice, username: 'old-alice', role: 'user', version: 3 });
      expect(await directoryOf(srv.gatehouse).findById(bob)).toMatchObject({ id: bob, username: 'old-bob', role: 'admin', version: 3 });
      expect((await login(srv, 'old-bob')).status).toBe(200);

      // Old logins stay taken; the ghost's is free again, and so is the unreadable one's (no account signs in
      // with it: once the move is done, 0.2's keys are not looked at again, so no request names a login in a key).
      for (const taken of ['old-alice', 'OLD-BOB']) expect((await register(srv, taken)).status, taken).toBe(409);
      expect((await register(srv, 'old-ghost')).status).toBe(200);
      expect((await login(srv, 'old-broken')).status).toBe(401);
      expect((await register(srv, 'old-broken')).status).toBe(200);
      const [warning, ...more] = warnings(logs);
      expect(more).toEqual([]);
      expect(warning).toMatchObject({ level: 40, left: 1 });
      expect(logs.text()).not.toContain(broken);
      expect(logs.text()).not.toContain('old-broken');

      // A moved account changes like any other (the conditional write compares the sealed text it read).
      const cookie = sessionCookie(await login(srv, 'old-alice'));
      expect((await call(srv, 'auth.changePassword', { currentPassword: password, newPassword: 'a newer long password' }, cookie)).status).toBe(200);
      expect((await login(srv, 'old-alice')).status).toBe(401);
      expect((await login(srv, 'old-alice', 'a newer long password')).status).toBe(200);
      expect(await directoryOf(srv.gatehouse).findById(alice)).toMatchObject({ version: 4 });
    });

    it('two instances moving at once lose nothing and duplicate nothing: every account once under its sealed keys, readable by both', async (ctx) => {
      if (!store.keysWithPrefix) ctx.skip();
      const kv = freshSpace();
      const names = Array.from({ length: 30 }, (_, i) => `old-user-${i}`);
      const ids = await Promise.all(names.map((name) => writeLegacy(kv, name)));
      await upgrade(kv);
      const one = new StoreUserDirectory(kv, storeSecretOf(kv, [TEST_KEY]));
      const two = new StoreUserDirectory(kv, storeSecretOf(kv, [TEST_KEY]));
      const found = await Promise.all([one.findByUsername('old-user-0'), two.findByUsername('old-user-29'), one.findById(ids[5]!), two.findById(ids[7]!)]);
      expect(found.map((record) => record?.id)).toEqual([ids[0], ids[29], ids[5], ids[7]]);
      expect(await kv.keysWithPrefix!('user:', 100)).toEqual([]);
      expect(await kv.keysWithPrefix!('an:', 100)).toHaveLength(30);
      expect(await kv.keysWithPrefix!('ai:', 100)).toHaveLength(30);
      for (const [i, name] of names.entries()) {
        expect((await one.findByUsername(name))?.id).toBe(ids[i]);
        expect((await two.findByUsername(name.toUpperCase()))?.id).toBe(ids[i]);
      }
      expect(await one.create('old-user-3', passwordHash)).toBeUndefined();
    });

    it('once the move is done, an account an instance still on 0.2 wrote afterwards is not looked for (upgrade every instance at once): the login keeps its new owner', async (ctx) => {
      if (!store.keysWithPrefix) ctx.skip();
      const kv = freshSpace();
      await writeLegacy(kv, 'old-first');
      await upgrade(kv);
      const upgraded = new StoreUserDirectory(kv, storeSecretOf(kv, [TEST_KEY]));
      const owner = (await upgraded.create('old-erin', passwordHash))!;
      const late = await writeLegacy(kv, 'old-erin');
      const logs = captureLogs('warn');
      const restarted = new StoreUserDirectory(kv, storeSecretOf(kv, [TEST_KEY]), logs.logger);
      expect((await restarted.findByUsername('old-erin'))?.id).toBe(owner.id);
      expect(await restarted.findById(late)).toBeUndefined();
      expect(await legacyKeysOf(kv, 'old-erin', late)).toHaveLength(2);
      expect(warnings(logs)).toEqual([]);
    });

    it('a move the store failed is tried again at the next use, and the callers waiting on it all hear of the failure', async (ctx) => {
      if (!store.keysWithPrefix) ctx.skip();
      const kv = freshSpace();
      const id = await writeLegacy(kv, 'old-frank');
      await upgrade(kv);
      let failures = 1;
      const flaky: KeyValueStore = new Proxy(kv, {
        get(target, property) {
          if (property === 'keysWithPrefix') {
            return (prefix: string, limit: number) => {
              if (failures === 0) return target.keysWithPrefix!(prefix, limit);
              failures -= 1;
              return Promise.reject(new Error('listing failed'));
            };
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
      const directory = new StoreUserDirectory(flaky, storeSecretOf(kv, [TEST_KEY]));
      const first = await Promise.allSettled([directory.findByUsername('old-frank'), directory.findById(id)]);
      expect(first.map((result) => result.status)).toEqual(['rejected', 'rejected']);
      expect(await legacyKeysOf(kv, 'old-frank', id)).toHaveLength(2);
      expect((await directory.findByUsername('old-frank'))?.id).toBe(id);
      expect(await legacyKeysOf(kv, 'old-frank', id)).toEqual([]);
    });

    it('on a store that cannot list its keys, each account moves when it is first asked for: by login, by id, or by a registration of its login', async () => {
      const kv = withoutListing(freshSpace());
      const alice = await writeLegacy(kv, 'old-alice');
      const bob = await writeLegacy(kv, 'old-bob');
      const carol = await writeLegacy(kv, 'old-carol');
      const dave = await writeLegacy(kv, 'old-dave');
      const broken = await writeBroken(kv, 'old-broken');
      await upgrade(kv);
      const logs = captureLogs('warn');
      const srv = await serverOn(kv, logs);

      expect((await login(srv, 'OLD-ALICE')).status).toBe(200);
      expect(await legacyKeysOf(kv, 'old-alice', alice)).toEqual([]);
      expect(await legacyKeysOf(kv, 'old-bob', bob)).toHaveLength(2);
      expect(await directoryOf(srv.gatehouse).findById(bob)).toMatchObject({ id: bob, username: 'old-bob' });
      expect(await legacyKeysOf(kv, 'old-bob', bob)).toEqual([]);
      expect((await login(srv, 'old-bob')).status).toBe(200);
      expect((await register(srv, 'Old-Carol')).status).toBe(409);
      expect(await legacyKeysOf(kv, 'old-carol', carol)).toEqual([]);
      expect((await login(srv, 'old-carol')).status).toBe(200);

      // Two instances asked for the same account at once: one account, readable by both.
      const one = new StoreUserDirectory(kv, storeSecretOf(kv, [TEST_KEY]));
      const two = new StoreUserDirectory(kv, storeSecretOf(kv, [TEST_KEY]));
      const both = await Promise.all([one.findByUsername('old-dave'), two.findByUsername('old-dave'), one.findById(dave), two.findById(dave)]);
      expect(both.map((record) => record?.id)).toEqual([dave, dave, dave, dave]);
      expect(await legacyKeysOf(kv, 'old-dave', dave)).toEqual([]);
      expect((await login(srv, 'old-dave')).status).toBe(200);

      // An unreadable record is left as it is, its login still taken, and reported once however often it is asked for.
      expect((await login(srv, 'old-broken')).status).toBe(401);
      expect((await register(srv, 'old-broken')).status).toBe(409);
      expect((await login(srv, 'old-broken')).status).toBe(401);
      expect(await legacyKeysOf(kv, 'old-broken', broken)).toHaveLength(2);
      expect(warnings(logs)).toHaveLength(1);
    });

    it('an account an instance still on 0.2 wrote under a login an upgraded one gave out since is left in place, its sealed copy removed, reported once', async () => {
      const kv = withoutListing(freshSpace());
      await writeLegacy(kv, 'old-first');
      await upgrade(kv);
      const logs = captureLogs('warn');
      const directory = new StoreUserDirectory(kv, storeSecretOf(kv, [TEST_KEY]), logs.logger);
      const owner = (await directory.create('old-taken', passwordHash))!;
      const late = await writeLegacy(kv, 'old-taken');
      expect(await directory.findById(late)).toBeUndefined();
      expect(await directory.findById(late)).toBeUndefined();
      expect((await directory.findByUsername('OLD-TAKEN'))?.id).toBe(owner.id);
      const secret = await storeSecretOf(kv, [TEST_KEY])();
      expect(await kv.get(secret.keyOf('ai', late))).toBeUndefined();
      expect(await legacyKeysOf(kv, 'old-taken', late)).toHaveLength(2);
      expect(warnings(logs)).toHaveLength(1);
      expect(logs.text()).toContain('has a login another account took since');
      expect(logs.text()).not.toContain(late);
    });
  },
  WITH_KEYV,
);
