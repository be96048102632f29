import { directoryOf } from './helpers/server.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CookieSigner } from '../server/session/cookieSigner.js';
import { Sealer } from '../server/session/sealer.js';
import { storeKeyOf } from '../server/session/sessionId.js';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { describeEachBackend } from './helpers/backends.js';
import { idOfCookie, shared, startBackendServer } from './helpers/backendServer.js';
import { parseSetCookie, request, sessionCookie, signUp } from './helpers/http.js';
import { ManualClock } from './helpers/clock.js';
import { OTHER_KEY, TEST_KEY } from './helpers/server.js';

const OLD_KEY = TEST_KEY;
const NEW_KEY = OTHER_KEY;

/** A sealed record inside a raw stored value (SQL rows may wrap it): version, key id, base64url payload. */
const SEALED = /v1\.([A-Za-z0-9_-]{8})\.([A-Za-z0-9_-]+)/;

/** The key id inside a sealed value `v1.<key id>.<payload>`. */
const keyIdOf = (sealed: string | undefined) => sealed?.split('.')[1];

describeEachBackend(
  'session records at rest',
  (backendOf) => {
    it('the raw stored session value holds neither the user id nor the username', async () => {
      const backend = backendOf();
      const srv = await startBackendServer(backend);
      try {
        const cookie = await signUp(srv.url, 'plaintext-hunter');
        const user = await directoryOf(srv.gatehouse).findByUsername('plaintext-hunter');
        const dump = await backend.dump();
        const sessionKey = [...dump.keys()].find((key) => key.endsWith(storeKeyOf(idOfCookie(cookie))));
        expect(sessionKey).toBeDefined();
        const raw = dump.get(sessionKey!)!;
        expect(raw).toMatch(/v1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]+/);
        expect(raw).not.toContain(user!.id);
        expect(raw.toLowerCase()).not.toContain('plaintext-hunter');
        // Nor does any session-index value, nor any key, name the cookie's raw id.
        for (const [key, value] of dump) {
          expect(key).not.toContain(idOfCookie(cookie));
          expect(value).not.toContain(idOfCookie(cookie));
        }
      } finally {
        await srv.close();
      }
    });

    it('the payload is ciphertext: decoded it holds neither, it opens only with the session key, and two writes of the same record differ', async () => {
      const backend = backendOf();
      const srv = await startBackendServer(backend);
      try {
        const cookie = await signUp(srv.url, 'ciphertext-check');
        const user = (await directoryOf(srv.gatehouse).findByUsername('ciphertext-check'))!;
        const key = storeKeyOf(idOfCookie(cookie));
        const sealedNow = async () => {
          const dump = await backend.dump();
          const raw = [...dump].find(([name]) => name.endsWith(key))![1];
          return SEALED.exec(raw)![0];
        };
        const first = await sealedNow();
        const payload = Buffer.from(SEALED.exec(first)![2]!, 'base64url');
        // Whatever encoding a plaintext record might hide behind, its decoded bytes would show it.
        for (const text of [payload.toString('utf8'), payload.toString('latin1'), payload.toString('utf16le')]) {
          expect(text).not.toContain(user.id);
          expect(text).not.toContain('ciphertext-check');
        }
        // 12-byte nonce + ciphertext + 16-byte tag, and the record really is inside.
        const opened = new Sealer([TEST_KEY]).open(first, key);
        expect(opened?.plaintext).toContain('ciphertext-check');
        expect(payload.length).toBe(12 + Buffer.byteLength(opened!.plaintext) + 16);
        expect(new Sealer([OTHER_KEY]).open(first, key)).toBeUndefined();

        // The same record written again: a fresh nonce, so a different value at rest.
        const loaded = (await srv.gatehouse.services.sessions.load(idOfCookie(cookie)))!;
        expect(await srv.gatehouse.services.sessions.rewriteAt(key, loaded.sealed, loaded.record)).toBeDefined();
        const second = await sealedNow();
        expect(second).not.toBe(first);
        expect(new Sealer([TEST_KEY]).open(second, key)?.plaintext).toBe(opened!.plaintext);
      } finally {
        await srv.close();
      }
    });
  },
  ['sqlite', 'redis', 'postgres'],
);

describeEachBackend('rotating SESSION_KEYS', (backendOf) => {
  let store: KeyValueStore;
  beforeAll(async () => {
    store = await backendOf().open();
  });
  afterAll(() => store.close());

  const serverWith = (keys: string[]) => startBackendServer(backendOf(), { store: shared(store), env: { SESSION_KEYS: keys.join(',') } });
  const sealedOf = (cookie: string) => store.get(storeKeyOf(idOfCookie(cookie)));

  it('with new,old an old cookie works and is re-signed and re-sealed under the new key; with old removed it is 401', async () => {
    const before = await serverWith([OLD_KEY]);
    const oldCookie = await signUp(before.url, 'rotating');
    const untouched = await signUp(before.url, 'rotating-later');
    await before.close();
    const oldKeyId = keyIdOf(await sealedOf(oldCookie));

    const during = await serverWith([NEW_KEY, OLD_KEY]);
    const res = await request(`${during.url}/trpc/data`, { cookie: oldCookie });
    expect(res.status).toBe(200);
    expect(res.setCookies).toHaveLength(1);
    const resigned = sessionCookie(res);
    expect(idOfCookie(resigned)).toBe(idOfCookie(oldCookie));
    expect(resigned).not.toBe(oldCookie);
    expect(new CookieSigner([NEW_KEY]).verify(parseSetCookie(res.setCookies[0]!).value)).toEqual({ id: idOfCookie(oldCookie), rotated: false });
    const newKeyId = keyIdOf(await sealedOf(oldCookie));
    expect(newKeyId).toBeDefined();
    expect(newKeyId).not.toBe(oldKeyId);
    expect((await request(`${during.url}/trpc/data`, { cookie: resigned })).status).toBe(200);
    await during.close();

    const after = await serverWith([NEW_KEY]);
    try {
      expect((await request(`${after.url}/trpc/data`, { cookie: oldCookie })).status).toBe(401);
      expect((await request(`${after.url}/trpc/data`, { cookie: resigned })).status).toBe(200);
      // Signed under the new key but still sealed under the removed one: the record no longer opens.
      const forgedSignature = `sid=${new CookieSigner([NEW_KEY]).sign(idOfCookie(untouched))}`;
      expect(keyIdOf(await sealedOf(untouched))).toBe(oldKeyId);
      expect((await request(`${after.url}/trpc/data`, { cookie: forgedSignature })).status).toBe(401);
      expect(await sealedOf(untouched)).toBeUndefined();
    } finally {
      await after.close();
    }
  });

  // Issue 18 §5, item 8: in a rolling deploy an instance already on new,old may have re-signed the cookie while the
  // record is still sealed under the old key. The record must be re-sealed for its own key, not only the cookie's.
  it('a record sealed under the old key behind a cookie already signed with the new one is re-sealed on the next request: it then opens under the new key alone', async () => {
    const clock = new ManualClock();
    const serverOn = (keys: string[]) => startBackendServer(backendOf(), { store: shared(store), env: { SESSION_KEYS: keys.join(',') }, deps: { clock } });
    // Old first, new known: what seals under old. (The store's own secret is under new since the test before,
    // which ended on [new] alone: a server on [old] alone would be keys replaced, not rotated, and refuse to start.)
    const before = await serverOn([OLD_KEY, NEW_KEY]);
    const id = idOfCookie(await signUp(before.url, 'rolling-deploy'));
    await before.close();
    const key = storeKeyOf(id);
    const sealedNow = async () => SEALED.exec((await store.get(key)) ?? '')?.[0];
    expect(new Sealer([OLD_KEY]).open((await sealedNow())!, key)).toBeDefined();
    expect(new Sealer([NEW_KEY]).open((await sealedNow())!, key)).toBeUndefined();

    const during = await serverOn([NEW_KEY, OLD_KEY]);
    try {
      const cookie = `sid=${new CookieSigner([NEW_KEY]).sign(id)}`;
      expect((await request(`${during.url}/trpc/data`, { cookie })).status).toBe(200);
      const resealed = (await sealedNow())!;
      const opened = new Sealer([NEW_KEY]).open(resealed, key);
      expect(opened, 'the stored record does not open under the new key alone').toBeDefined();
      expect(opened!.plaintext).toContain('rolling-deploy');
      expect(new Sealer([OLD_KEY]).open(resealed, key)).toBeUndefined();
    } finally {
      await during.close();
    }
    // With the old key gone the session still works: nothing of it was left under that key.
    const after = await serverOn([NEW_KEY]);
    try {
      expect((await request(`${after.url}/trpc/data`, { cookie: `sid=${new CookieSigner([NEW_KEY]).sign(id)}` })).status).toBe(200);
    } finally {
      await after.close();
    }
  });
});
