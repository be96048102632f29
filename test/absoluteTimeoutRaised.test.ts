import { afterEach, describe, expect, it } from 'vitest';
import { MemoryKeyValueStore } from '../server/store/memoryKeyValueStore.js';
import { ManualClock } from './helpers/clock.js';
import { shared } from './helpers/backendServer.js';
import { request, sessionCookie, signUp } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';

/*
 * A user's session index lives as long as the sessions its writer knew of: a
 * process with `SESSION_ABSOLUTE_TIMEOUT=2h` gives it two hours. An operator
 * who raises the timeout and restarts keeps those sessions alive for longer;
 * their index must live as long, or "end every session" misses them. The
 * store is the shipped memory store on the test's clock, so its TTLs move
 * with the clock.
 */
const PASSWORD = 'correct horse battery';
const MINUTE = 60_000;

let servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function start(store: MemoryKeyValueStore, clock: ManualClock, absolute: string): Promise<TestServer> {
  const srv = await startServer({ env: { SESSION_IDLE_TIMEOUT: '30m', SESSION_ABSOLUTE_TIMEOUT: absolute }, deps: { store: shared(store), clock } });
  servers.push(srv);
  return srv;
}

const status = async (srv: TestServer, cookie: string) => (await request(`${srv.url}/trpc/data`, { cookie })).status;
const listed = async (srv: TestServer, cookie: string) => ((await request(`${srv.url}/trpc/sessions.list`, { cookie })).json as { result: { data: unknown[] } }).result.data.length;

describe('SESSION_ABSOLUTE_TIMEOUT raised across a restart', () => {
  it('sessions started under 2h and kept alive under 8h stay listed past 2h, and a password change then ends them', async () => {
    const clock = new ManualClock();
    const store = new MemoryKeyValueStore(() => clock.now());
    const before = await start(store, clock, '2h');
    const laptop = await signUp(before.url, 'raised-absolute');
    const phone = sessionCookie(await request(`${before.url}/trpc/auth.login`, { body: { username: 'raised-absolute', password: PASSWORD } }));
    await before.close();
    servers = [];

    const after = await start(store, clock, '8h');
    // Both in use every 20 minutes, for three hours: past the 2 hours (and the slack) the index was first given.
    for (let minutes = 20; minutes <= 180; minutes += 20) {
      clock.advance(20 * MINUTE);
      expect([await status(after, laptop), await status(after, phone)]).toEqual([200, 200]);
    }
    expect(await listed(after, phone)).toBe(2);

    // A password change needs a fresh sign-in: a third session, started under 8h.
    const fresh = sessionCookie(await request(`${after.url}/trpc/auth.login`, { body: { username: 'raised-absolute', password: PASSWORD } }));
    const change = await request(`${after.url}/trpc/auth.changePassword`, { cookie: fresh, body: { currentPassword: PASSWORD, newPassword: 'another long password' } });
    expect(change.status).toBe(200);
    expect([await status(after, laptop), await status(after, phone)]).toEqual([401, 401]);
    expect(await status(after, sessionCookie(change))).toBe(200);
    expect(await listed(after, sessionCookie(change))).toBe(1);
  });
});
