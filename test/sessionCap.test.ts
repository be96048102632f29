import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend, WITH_KEYV } from './helpers/backends.js';
import { publicIdOf } from '../server/session/sessionId.js';
import { idOfCookie, startBackendServer } from './helpers/backendServer.js';
import { request, sessionCookie, signUp } from './helpers/http.js';
import type { TestServer } from './helpers/server.js';

// L7 / ASVS 7.1.2 / attack 27: a bounded number of live sessions per user; past it the least recently used one ends.
const password = 'correct horse battery';

describeEachBackend('the per-user session cap', (backendOf) => {
  let capped: TestServer;
  let byDefault: TestServer;
  beforeAll(async () => {
    capped = await startBackendServer(backendOf(), { env: { SESSION_MAX_PER_USER: '5' } });
    byDefault = await startBackendServer(backendOf());
  });
  afterAll(async () => {
    await capped.close();
    await byDefault.close();
  });

  const login = async (srv: TestServer, username: string) => {
    const res = await request(`${srv.url}/trpc/auth.login`, { body: { username, password } });
    expect(res.status).toBe(200);
    return sessionCookie(res);
  };
  const data = (srv: TestServer, cookie: string) => request(`${srv.url}/trpc/data`, { cookie });
  const listed = async (srv: TestServer, cookie: string) =>
    ((await request(`${srv.url}/trpc/sessions.list`, { cookie })).json as { result: { data: { id: string; current: boolean }[] } }).result.data;

  it('with SESSION_MAX_PER_USER=5, a sixth login ends the least recently used session, not the oldest one still in use', async () => {
    const cookies = [await signUp(capped.url, 'cap-lru')];
    for (let i = 1; i < 5; i += 1) {
      capped.clock.advance(61_000);
      cookies.push(await login(capped, 'cap-lru'));
    }
    // The first session is used again (a request past the touch interval records it), so the second is now the least recent.
    capped.clock.advance(61_000);
    expect((await data(capped, cookies[0]!)).status).toBe(200);
    // (Its public id from the cookie itself: a request with it would count as using it.)
    const secondId = publicIdOf(idOfCookie(cookies[1]!));
    capped.clock.advance(61_000);
    const sixth = await login(capped, 'cap-lru');

    expect((await data(capped, cookies[1]!)).status).toBe(401);
    for (const cookie of [cookies[0]!, ...cookies.slice(2), sixth]) expect((await data(capped, cookie)).status).toBe(200);
    const after = await listed(capped, sixth);
    expect(after).toHaveLength(5);
    expect(after.map((s) => s.id)).not.toContain(secondId);
  });

  it('an idle session ends before one in use: a session used ten times in the last minute outlives nine sessions never used since their sign-in a moment ago', async () => {
    const inUse = await signUp(byDefault.url, 'cap-in-use');
    for (let use = 0; use < 10; use += 1) {
      byDefault.clock.advance(5_000);
      expect((await data(byDefault, inUse)).status).toBe(200);
    }
    // Nine sign-ins elsewhere (a script, say), never used again; all within the touch interval of the uses above.
    const idle: string[] = [];
    for (let i = 0; i < 9; i += 1) idle.push(await login(byDefault, 'cap-in-use'));
    byDefault.clock.advance(3_000);
    const eleventh = await login(byDefault, 'cap-in-use');
    expect((await data(byDefault, eleventh)).status).toBe(200);
    expect((await data(byDefault, inUse)).status).toBe(200);
    // One of the idle ones (equally old) ended; the other eight live.
    const statuses = await Promise.all(idle.map(async (cookie) => (await data(byDefault, cookie)).status));
    expect(statuses.filter((status) => status === 401)).toHaveLength(1);
    expect(statuses.filter((status) => status === 200)).toHaveLength(8);
  });

  it('60 logins of one user leave exactly the default cap of 10 live sessions, the newest of them working', async () => {
    const cookies = [await signUp(byDefault.url, 'cap-sixty')];
    for (let i = 1; i < 60; i += 1) {
      byDefault.clock.advance(1_000);
      cookies.push(await login(byDefault, 'cap-sixty'));
    }
    const newest = cookies.at(-1)!;
    expect(await listed(byDefault, newest)).toHaveLength(10);
    const alive = [];
    for (const cookie of cookies) alive.push((await data(byDefault, cookie)).status === 200);
    expect(alive.filter(Boolean)).toHaveLength(10);
    // The ten that live are the ten most recent logins.
    expect(alive.slice(50)).toEqual(Array(10).fill(true));
  });
}, WITH_KEYV);
