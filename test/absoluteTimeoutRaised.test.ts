import { afterEach, describe, expect, it } from 'vitest';
import { MemoryKeyValueStore } from '../server/store/memoryKeyValueStore.js';
import { shared } from './helpers/backendServer.js';
import { ManualClock } from './helpers/clock.js';
import { type HeldApp, startHeldApp } from './helpers/heldApp.js';
import { request, sessionCookie, signUp } from './helpers/http.js';

/*
 * A session's entry in its user's index must live as long as the session,
 * or "end every session" (a password change, an end-all, a disable) misses
 * it. The entry is given the session's absolute deadline by the process that
 * writes it; a process with a longer SESSION_ABSOLUTE_TIMEOUT (raised across
 * a restart) keeps the session alive past that, whether by reads (idle
 * extensions) or by writes of session data, and a session kept alive by
 * writes alone must stay indexed too. The store is the shipped memory store
 * on the test's clock, so its TTLs move with the clock.
 */
const PASSWORD = 'correct horse battery';
const MINUTE = 60_000;

let apps: HeldApp[] = [];
afterEach(async () => {
  await Promise.all(apps.map((app) => app.close()));
  apps = [];
});

async function start(store: MemoryKeyValueStore, clock: ManualClock, absoluteTimeout: '2h' | '8h' | '12h'): Promise<HeldApp> {
  const app = await startHeldApp(shared(store), { clock, idleTimeout: '30m', absoluteTimeout });
  apps.push(app);
  return app;
}
async function restart(app: HeldApp, store: MemoryKeyValueStore, clock: ManualClock, absoluteTimeout: '8h'): Promise<HeldApp> {
  await app.close();
  apps = apps.filter((other) => other !== app);
  return start(store, clock, absoluteTimeout);
}

const read = async (app: HeldApp, cookie: string) => (await request(`${app.url}/trpc/read`, { cookie })).status;
/** A write of the session's data (a patch that does not grow it). */
const write = async (app: HeldApp, cookie: string) => (await request(`${app.url}/trpc/revokeElevated`, { cookie, body: {} })).status;
const login = async (app: HeldApp, username: string) => sessionCookie(await request(`${app.url}/trpc/auth.login`, { body: { username, password: PASSWORD } }));
const listed = async (app: HeldApp, cookie: string) => ((await request(`${app.url}/trpc/sessions.list`, { cookie })).json as { result: { data: unknown[] } }).result.data.length;

/** A password change from a fresh sign-in (it needs one): resolves the status, and the changed session's cookie. */
async function changePassword(app: HeldApp, username: string): Promise<{ status: number; cookie: string }> {
  const fresh = await login(app, username);
  const res = await request(`${app.url}/trpc/auth.changePassword`, { cookie: fresh, body: { currentPassword: PASSWORD, newPassword: 'another long password' } });
  return { status: res.status, cookie: res.status === 200 ? sessionCookie(res) : fresh };
}

describe('a session stays in its user’s index as long as it lives', () => {
  it('SESSION_ABSOLUTE_TIMEOUT raised from 2h to 8h across a restart: sessions kept alive by reads stay listed past 2h, and a password change ends them', async () => {
    const clock = new ManualClock();
    const store = new MemoryKeyValueStore(() => clock.now());
    let app = await start(store, clock, '2h');
    const laptop = await signUp(app.url, 'raised-reads');
    const phone = await login(app, 'raised-reads');
    app = await restart(app, store, clock, '8h');
    // Both in use every 20 minutes, for three hours: past the 2 hours (and the slack) the index was first given.
    for (let minutes = 20; minutes <= 180; minutes += 20) {
      clock.advance(20 * MINUTE);
      expect([await read(app, laptop), await read(app, phone)]).toEqual([200, 200]);
    }
    expect(await listed(app, phone)).toBe(2);
    const change = await changePassword(app, 'raised-reads');
    expect(change.status).toBe(200);
    expect([await read(app, laptop), await read(app, phone), await read(app, change.cookie)]).toEqual([401, 401, 200]);
    expect(await listed(app, change.cookie)).toBe(1);
  });

  it('raised across a restart, a session kept alive only by writes of its data, each under a minute apart, stays listed past 2h, and a password change ends it', async () => {
    const clock = new ManualClock();
    const store = new MemoryKeyValueStore(() => clock.now());
    let app = await start(store, clock, '2h');
    const writer = await signUp(app.url, 'raised-writes');
    expect(await write(app, writer)).toBe(200);
    app = await restart(app, store, clock, '8h');
    for (let seconds = 50; seconds <= 3 * 3600; seconds += 50) {
      clock.advance(50_000);
      expect(await write(app, writer)).toBe(200);
    }
    const change = await changePassword(app, 'raised-writes');
    expect(change.status).toBe(200);
    expect(await read(app, writer)).toBe(401);
  });

  it('with the defaults unchanged (12h), a session kept alive only by writes of its data stays listed and is ended by a password change', async () => {
    const clock = new ManualClock();
    const store = new MemoryKeyValueStore(() => clock.now());
    const app = await start(store, clock, '12h');
    const writer = await signUp(app.url, 'default-writes');
    clock.advance(1_000);
    expect(await read(app, writer)).toBe(200);
    for (let seconds = 50; seconds <= 3600; seconds += 50) {
      clock.advance(50_000);
      expect(await write(app, writer)).toBe(200);
    }
    expect(await listed(app, writer)).toBe(1);
    const change = await changePassword(app, 'default-writes');
    expect(change.status).toBe(200);
    expect(await read(app, writer)).toBe(401);
  });
});
