import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DirectoryKeys } from '../server/accounts/directoryKeys.js';
import { StoreUserDirectory } from '../server/accounts/userDirectory.js';
import { systemClock } from '../server/clock.js';
import { Sealer } from '../server/session/sealer.js';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { openStoreSecret } from '../server/store/storeSecret.js';
import { describeEachBackend, WITH_KEYV } from './helpers/backends.js';
import { Gate, gatedStore } from './helpers/gates.js';
import { prefixedStore, withoutListing } from './helpers/keySpaces.js';
import { TEST_KEY } from './helpers/server.js';
import { storeSecretOf } from './helpers/storeSecret.js';

// Deleted means deleted while the accounts 0.2 wrote in the clear move to the sealed keys: a move another
// process began before the account was moved and deleted, or a move that stopped half-way, brings nothing back.
const DAY_MS = 86_400_000;
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA';

/** `kv`, except that deleting a key starting with `prefix` fails, as if the process died there. */
function dyingAtDelete(kv: KeyValueStore, prefix: string): KeyValueStore {
  return new Proxy(kv, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const bound = (value as (...args: unknown[]) => Promise<unknown>).bind(target);
      return property === 'delete' ? (key: string, ...rest: unknown[]) => (key.startsWith(prefix) ? Promise.reject(new Error('the process died here')) : bound(key, ...rest)) : bound;
    },
  });
}

describeEachBackend(
  'deleting an account while 0.2’s accounts move',
  (backendOf) => {
    let store: KeyValueStore;
    let space = 0;
    beforeAll(async () => {
      store = await backendOf().open();
    });
    afterAll(() => store?.close());

    /** A key space holding one account exactly as 0.2 wrote it, upgraded (the store secret made, with its window). */
    async function legacySpace(username: string): Promise<{ kv: KeyValueStore; id: string }> {
      const kv = prefixedStore(store, `d${(space += 1)}/`);
      const id = randomUUID();
      await kv.set(`user:id:${id}`, JSON.stringify({ id, username, role: 'user', passwordHash: HASH, createdAt: 1_700_000_000_000, version: 2, disabled: false }), 0);
      await kv.set(`user:name:${username}`, id, 0);
      expect((await openStoreSecret(kv, new Sealer([TEST_KEY]), systemClock, DAY_MS)).legacyUntil).toBeGreaterThan(0);
      return { kv, id };
    }

    it('a move another instance began before the account was moved and deleted brings nothing back: the login is free, the id no account', async (ctx) => {
      if (!store.keysWithPrefix) ctx.skip();
      const { kv, id } = await legacySpace('old-gone');
      // The late instance has read the old record and is about to write the sealed copy: held there.
      const beforeCopy = new Gate().arm();
      const late = new StoreUserDirectory(gatedStore(kv, { add: { gate: beforeCopy, key: /^ai:/ } }), storeSecretOf(kv, [TEST_KEY]));
      const lateLookup = late.findByUsername('someone-else');
      await beforeCopy.held();

      // Meanwhile another instance moves every account and deletes this one.
      const other = new StoreUserDirectory(kv, storeSecretOf(kv, [TEST_KEY]));
      expect((await other.findById(id))?.username).toBe('old-gone');
      expect(await other.delete(id)).toBe(true);
      expect(await other.findById(id)).toBeUndefined();

      beforeCopy.release();
      expect(await lateLookup).toBeUndefined();
      expect(await late.findById(id)).toBeUndefined();
      expect(await late.findByUsername('old-gone')).toBeUndefined();
      expect(await other.findByUsername('old-gone')).toBeUndefined();
      expect(await kv.keysWithPrefix!('user:', 10)).toEqual([]);
      // The login is free again, on both.
      const again = await late.create('old-gone', HASH);
      expect(again?.id).not.toBe(id);
      expect((await other.findByUsername('OLD-GONE'))?.id).toBe(again!.id);
    });

    it('on a store that cannot list its keys, an account whose move stopped before its 0.2 record went is deleted with that record, and stays deleted', async () => {
      const { kv, id } = await legacySpace('old-half');
      const listless = withoutListing(kv);
      // The move stops where a process dies: the sealed keys written and 0.2's login dropped, its record not yet.
      const stopping = new StoreUserDirectory(dyingAtDelete(listless, 'user:id:'), storeSecretOf(kv, [TEST_KEY]));
      await expect(stopping.findById(id)).rejects.toThrow('the process died here');
      expect(await kv.get(`user:id:${id}`)).toBeDefined();
      expect(await kv.get('user:name:old-half')).toBeUndefined();

      const directory = new StoreUserDirectory(listless, storeSecretOf(kv, [TEST_KEY]));
      expect((await directory.findByUsername('old-half'))?.id).toBe(id);
      expect(await directory.delete(id)).toBe(true);
      expect(await kv.get(`user:id:${id}`)).toBeUndefined();
      expect(await directory.findById(id)).toBeUndefined();
      expect(await new StoreUserDirectory(listless, storeSecretOf(kv, [TEST_KEY])).findById(id)).toBeUndefined();
      expect(await directory.findByUsername('old-half')).toBeUndefined();
    });

    it('a login left naming no account (a deletion that stopped after the record, a move killed after its claim) is free again; one naming an account is not', async () => {
      const kv = prefixedStore(store, `d${(space += 1)}/`);
      const secret = storeSecretOf(kv, [TEST_KEY]);
      const directory = new StoreUserDirectory(kv, secret);
      const stopped = (await directory.create('stopped-delete', HASH))!;
      // The deletion takes the record, then dies before the login.
      const dying = new StoreUserDirectory(dyingAtDelete(kv, 'an:'), secret);
      await expect(dying.delete(stopped.id)).rejects.toThrow('the process died here');
      expect(await directory.findByUsername('stopped-delete')).toBeUndefined();
      const keys = new DirectoryKeys(await secret());
      expect(await kv.get(keys.nameKey('stopped-delete'))).toBeDefined();
      const again = (await directory.create('Stopped-Delete', HASH))!;
      expect(again.id).not.toBe(stopped.id);
      expect((await directory.findByUsername('stopped-delete'))?.id).toBe(again.id);

      // A login naming an id marked deleted is free too; one naming a live account stays taken.
      const marked = randomUUID();
      await kv.set(keys.idKey(marked), DirectoryKeys.DELETED, DAY_MS);
      await kv.set(keys.nameKey('marked-dead'), keys.sealId(keys.nameKey('marked-dead'), marked), 0);
      expect((await directory.create('marked-dead', HASH))?.username).toBe('marked-dead');
      expect(await directory.create('stopped-delete', HASH)).toBeUndefined();
      expect((await directory.findByUsername('stopped-delete'))?.id).toBe(again.id);
    });
  },
  WITH_KEYV,
);
