import { directoryOf } from './helpers/server.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { referenceRoutes as gatehouseRoutes } from '../server/reference/router.js';
import { publicIdOf, storeKeyOf } from '../server/session/sessionId.js';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { protectedProcedure, router } from '../server/trpc/init.js';
import { describeEachBackend, WITH_KEYV } from './helpers/backends.js';
import { idOfCookie, startBackendServer } from './helpers/backendServer.js';
import { request, type RawResponse, signUp } from './helpers/http.js';
import type { TestServer } from './helpers/server.js';
import { storeSecretIn, userKeysOf } from './helpers/storeSecret.js';

/** A promise the test resolves by hand. */
function latch() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

/** Requests parked inside a protected procedure until the test releases them. */
function heldRouter() {
  const held = new Map<string, { entered: ReturnType<typeof latch>; release: ReturnType<typeof latch> }>();
  const hold = (name: string) => {
    const entry = { entered: latch(), release: latch() };
    held.set(name, entry);
    return entry;
  };
  const appRouter = router({
    ...gatehouseRoutes,
    slow: protectedProcedure.input(z.object({ name: z.string() })).query(async ({ input }) => {
      const entry = held.get(input.name)!;
      entry.entered.open();
      await entry.release.opened;
      return 'finished';
    }),
  });
  return { appRouter, hold };
}

describeEachBackend('logout and revocation win the race against a request already in flight', (backendOf) => {
  let srv: TestServer;
  let store: KeyValueStore;
  const { appRouter, hold } = heldRouter();
  beforeAll(async () => {
    store = await backendOf().open();
    srv = await startBackendServer(backendOf(), { router: appRouter, store });
  });
  afterAll(() => srv.close());

  /**
   * Parks a request with `cookie` inside `slow`, moves the clock so that the
   * request will write an idle extension when it finishes, runs `revoke`
   * meanwhile, then releases the parked request.
   */
  async function race(name: string, cookie: string, revoke: () => Promise<RawResponse>) {
    const parked = hold(name);
    const slow = request(`${srv.url}/trpc/slow?input=${encodeURIComponent(JSON.stringify({ name }))}`, { cookie });
    await parked.entered.opened;
    srv.clock.advance(srv.gatehouse.options.idleTimeoutMs / 2);
    const revoked = await revoke();
    parked.release.open();
    return { slow: await slow, revoked };
  }

  async function expectGone(cookie: string, userId: string) {
    expect((await request(`${srv.url}/trpc/data`, { cookie })).status).toBe(401);
    expect(await store.get(storeKeyOf(idOfCookie(cookie)))).toBeUndefined();
    expect([...(await store.mapGetAll(userKeysOf(await storeSecretIn(store), userId).sessions)).keys()]).not.toContain(publicIdOf(idOfCookie(cookie)));
  }

  const userIdOf = async (username: string) => (await directoryOf(srv.gatehouse).findByUsername(username))!.id;

  it('logout: the held request finishes without a cookie, the old cookie replayed is 401, and the store holds no record', async () => {
    const cookie = await signUp(srv.url, 'race-logout');
    const { slow, revoked } = await race('logout', cookie, () => request(`${srv.url}/trpc/auth.logout`, { cookie, body: {} }));
    expect(revoked.status).toBe(200);
    expect(revoked.json).toEqual({ result: { data: { loggedOut: true } } });
    expect(slow.status).toBe(200);
    expect(slow.setCookies).toEqual([]);
    await expectGone(cookie, await userIdOf('race-logout'));
  });

  it('sessions.revoke from another device: same outcome', async () => {
    const victim = await signUp(srv.url, 'race-revoke');
    const login = await request(`${srv.url}/trpc/auth.login`, { body: { username: 'race-revoke', password: 'correct horse battery' } });
    let other = login.setCookies[0]!.split(';')[0]!;
    const { slow, revoked } = await race('revoke', victim, async () => {
      // Ending a session needs a fresh login, and the clock moved on: the other device confirms its password first.
      const confirmed = await request(`${srv.url}/trpc/auth.reauthenticate`, { cookie: other, body: { password: 'correct horse battery' } });
      expect(confirmed.status).toBe(200);
      other = confirmed.setCookies[0]!.split(';')[0]!;
      return request(`${srv.url}/trpc/sessions.revoke`, { cookie: other, body: { id: publicIdOf(idOfCookie(victim)) } });
    });
    expect(revoked.status).toBe(200);
    expect(slow.setCookies).toEqual([]);
    await expectGone(victim, await userIdOf('race-revoke'));
    expect((await request(`${srv.url}/trpc/data`, { cookie: other })).status).toBe(200);
  });

  it('a control run without a revocation does write the idle extension (the race above really had a write to lose)', async () => {
    const cookie = await signUp(srv.url, 'race-control');
    const before = (await srv.gatehouse.services.sessions.load(idOfCookie(cookie)))!.record.lastSeen;
    const { slow } = await race('control', cookie, () => request(`${srv.url}/healthz`));
    expect(slow.status).toBe(200);
    // The extension is a store write only: the cookie's lifetime runs from the login, so it is not sent again.
    expect(slow.setCookies).toEqual([]);
    expect((await srv.gatehouse.services.sessions.load(idOfCookie(cookie)))!.record.lastSeen).toBe(before + srv.gatehouse.options.idleTimeoutMs / 2);
    expect((await request(`${srv.url}/trpc/data`, { cookie })).status).toBe(200);
  });
}, WITH_KEYV);
