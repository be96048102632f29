import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeKeyOf } from '../server/session/sessionId.js';
import { request, signUp } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';

const IDLE_MS = 30 * 60_000;
const ABSOLUTE_MS = 2 * 3_600_000;
const TOUCH_INTERVAL_MS = 60_000;

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ env: { SESSION_IDLE_TIMEOUT: '30m', SESSION_ABSOLUTE_TIMEOUT: '2h' } });
});
afterAll(() => srv.close());

const dataStatus = async (cookie: string) => (await request(`${srv.url}/trpc/data`, { cookie })).status;
const idOf = (cookie: string) => cookie.slice('sid='.length).split('.')[0]!;

describe('idle timeout (SESSION_IDLE_TIMEOUT=30m)', () => {
  it('a session unused for just under 30 minutes still works', async () => {
    const cookie = await signUp(srv.url, 'idle-before');
    srv.clock.advance(IDLE_MS - 1);
    expect(await dataStatus(cookie)).toBe(200);
  });

  it('a session unused for 30 minutes is over: 401, and its record is removed from the store', async () => {
    const cookie = await signUp(srv.url, 'idle-at');
    srv.clock.advance(IDLE_MS);
    expect(await dataStatus(cookie)).toBe(401);
    expect(await srv.gatehouse.store.get(storeKeyOf(idOf(cookie)))).toBeUndefined();
    srv.clock.advance(-IDLE_MS);
    expect(await dataStatus(cookie)).toBe(401);
  });

  it('activity extends the idle window, and a request never writes more than once per touch interval', async () => {
    const cookie = await signUp(srv.url, 'idle-extended');
    const key = storeKeyOf(idOf(cookie));
    // The first use after sign-in is recorded at once (so the session cap can tell it from a session never used).
    srv.clock.advance(1);
    expect(await dataStatus(cookie)).toBe(200);
    const before = await srv.gatehouse.store.get(key);
    srv.clock.advance(TOUCH_INTERVAL_MS - 1);
    expect(await dataStatus(cookie)).toBe(200);
    expect(await srv.gatehouse.store.get(key)).toBe(before); // too soon: no write
    srv.clock.advance(IDLE_MS - TOUCH_INTERVAL_MS - 1);
    const touch = await request(`${srv.url}/trpc/data`, { cookie });
    expect(touch.status).toBe(200);
    expect(await srv.gatehouse.store.get(key)).not.toBe(before); // due: the idle window moved
    srv.clock.advance(IDLE_MS - 1);
    expect(await dataStatus(cookie)).toBe(200); // 59:59 after login, but only 29:59 idle
  });
});

describe('absolute timeout (SESSION_ABSOLUTE_TIMEOUT=2h)', () => {
  it('an active session still works just before 2 hours, and is over at 2 hours however active', async () => {
    const cookie = await signUp(srv.url, 'absolute');
    const loginAt = srv.clock.now();
    while (srv.clock.now() + IDLE_MS / 2 < loginAt + ABSOLUTE_MS) {
      srv.clock.advance(IDLE_MS / 2);
      expect(await dataStatus(cookie)).toBe(200);
    }
    srv.clock.advance(loginAt + ABSOLUTE_MS - 1 - srv.clock.now());
    expect(await dataStatus(cookie)).toBe(200);
    srv.clock.advance(1);
    expect(await dataStatus(cookie)).toBe(401);
  });

  it('me reports when the session will end: the earlier of the idle and absolute deadlines', async () => {
    const cookie = await signUp(srv.url, 'expires-at');
    const loginAt = srv.clock.now();
    const me = (await request(`${srv.url}/trpc/auth.me`, { cookie })).json as {
      result: { data: { session: { expiresAt: string; createdAt: string } } };
    };
    expect(new Date(me.result.data.session.expiresAt).getTime()).toBe(loginAt + IDLE_MS);
    expect(new Date(me.result.data.session.createdAt).getTime()).toBe(loginAt);
  });
});
