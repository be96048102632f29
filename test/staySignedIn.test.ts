import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBearerClient, memoryTokenStore } from '../client/bearer.js';
import type { AppRouter } from '../server/reference/router.js';
import type { SessionEvent } from '../server/index.js';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { errorCode, parseSetCookie, type RawResponse, request } from './helpers/http.js';
import { StoreUnconfirmedError } from '../server/store/storeErrors.js';
import { describeEachBackend } from './helpers/backends.js';
import { startServer, type TestServer } from './helpers/server.js';

/**
 * SECURITY.md L13, attack 38: "stay signed in on this device" — a long-lived
 * credential stored only as hashes, replaced at every use, a replayed copy
 * ending everything of the user, and none of Spring's false alarms (tabs
 * restored at once, parallel requests, an answer that never arrived).
 * Real HTTP, real cookies kept as a browser keeps them; the clock moves.
 */
const PASSWORD = 'correct horse battery';
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** A browser's cookie jar, as simple as this server's cookies allow (one path, no domain). */
class Jar {
  readonly cookies = new Map<string, string>();
  take(res: RawResponse): this {
    for (const line of res.setCookies) {
      const { name, value, attributes } = parseSetCookie(line);
      const expired = value === '' || attributes.get('max-age') === '0' || new Date(attributes.get('expires') ?? 8.64e15).getTime() <= Date.now();
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return this;
  }
  get header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
  copy(): Jar {
    const copied = new Jar();
    for (const [name, value] of this.cookies) copied.cookies.set(name, value);
    return copied;
  }
  /** The same jar without its session cookie: a browser whose session cookie has gone (closed, or timed out). */
  withoutSession(): Jar {
    const copied = this.copy();
    copied.cookies.delete('sid');
    return copied;
  }
}

/**
 * The store, able to lose device-credential rotations as a failover does: the
 * write lands, then the store goes back to what it held before (a replica
 * promoted before the write reached it).
 */
function forgetful(store: KeyValueStore) {
  /** `unconfirmedRotations`: the rotation's write lands, then fails as `waitReplicas` does when no replica confirms it. */
  const control = { losingRotations: false, unconfirmedRotations: false };
  const wrapped = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (property !== 'compareAndSet' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      const compareAndSet = value as (key: string, expected: string, next: string, ttlMs: number, ...rest: unknown[]) => Promise<boolean>;
      return async (key: string, expected: string, next: string, ttlMs: number, ...rest: unknown[]) => {
        const written = await compareAndSet.call(target, key, expected, next, ttlMs, ...rest);
        if (written && control.losingRotations && key.startsWith('r:')) await target.set(key, expected, ttlMs);
        if (written && control.unconfirmedRotations && key.startsWith('r:')) throw new StoreUnconfirmedError('compareAndSet', 0, 1);
        return written;
      };
    },
  });
  return { store: wrapped, control };
}

let srv: TestServer;
let lossy: { losingRotations: boolean; unconfirmedRotations: boolean };
const events: SessionEvent[] = [];

let users = 0;
async function remembered(): Promise<{ username: string; jar: Jar; res: RawResponse }> {
  users += 1;
  const username = `stay-${users}`;
  expect((await request(`${srv.url}/trpc/auth.register`, { body: { username, password: PASSWORD } })).status).toBe(200);
  const res = await request(`${srv.url}/trpc/auth.login`, { body: { username, password: PASSWORD, staySignedIn: true } });
  expect(res.status).toBe(200);
  return { username, jar: new Jar().take(res), res };
}
const data = async (jar: Jar) => {
  const res = await request(`${srv.url}/trpc/data`, { cookie: jar.header });
  jar.take(res);
  return res;
};
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
const replays = (userId?: string) => events.filter((event) => event.type === 'device-credential-replayed' && (userId === undefined || event.userId === userId));

describeEachBackend('stay signed in', (backendOf) => {
  beforeAll(async () => {
    const { store, control } = forgetful(await backendOf().open());
    lossy = control;
    srv = await startServer({ deps: { store, staySignedIn: true, bearer: true, onSessionEvent: (event) => void events.push(event) } });
  });
  afterAll(() => srv.close());

  describe('asking for it at login', () => {
    it('sets sid-remember: HttpOnly, SameSite=Lax, Path=/, no Domain, living 30 days (its hard end); a login without it sets none', async () => {
      const { res, username } = await remembered();
      const line = res.setCookies.find((cookie) => cookie.startsWith('sid-remember='))!;
      const cookie = parseSetCookie(line);
      expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{43}~0~[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
      expect([...cookie.attributes.keys()].sort()).toEqual(['expires', 'httponly', 'path', 'samesite']);
      expect(cookie.attributes.get('samesite')).toBe('lax');
      expect(Math.abs(new Date(cookie.attributes.get('expires')!).getTime() - (Date.now() + 30 * DAY))).toBeLessThan(MINUTE);
      const plain = await request(`${srv.url}/trpc/auth.login`, { body: { username, password: PASSWORD } });
      expect(plain.setCookies.some((cookieLine) => cookieLine.startsWith('sid-remember='))).toBe(false);
    });

    it('a server that does not offer it answers staySignedIn: true with 400 naming the option, and signs nobody in', async () => {
      const plain = await startServer({ env: { SESSION_STAY_SIGNED_IN: 'off' } });
      try {
        await request(`${plain.url}/trpc/auth.register`, { body: { username: 'no-stay', password: PASSWORD } });
        const res = await request(`${plain.url}/trpc/auth.login`, { body: { username: 'no-stay', password: PASSWORD, staySignedIn: true } });
        expect(res.status).toBe(400);
        expect(errorCode(res)).toBe('BAD_REQUEST');
        expect(JSON.stringify(res.json)).toContain('staySignedIn: true');
        expect(res.setCookies).toEqual([]);
      } finally {
        await plain.close();
      }
    });
  });

  describe('resuming', () => {
    it('after the idle timeout: a new session, not a fresh one (a password change asks for the password), and a new credential', async () => {
      const { jar } = await remembered();
      const first = jar.cookies.get('sid-remember');
      srv.clock.advance(31 * MINUTE);
      const res = await data(jar);
      expect(res.status).toBe(200);
      expect(jar.cookies.get('sid-remember')).not.toBe(first);
      const change = await request(`${srv.url}/trpc/auth.changePassword`, { cookie: jar.header, body: { currentPassword: PASSWORD, newPassword: 'another password 1' } });
      expect(change.status).toBe(412);
    });

    it('after the absolute deadline (12 hours), used every half hour: still signed in, on a new session each time the old one ends', async () => {
      const { jar } = await remembered();
      for (let hour = 0; hour < 13; hour += 0.5) {
        srv.clock.advance(30 * MINUTE);
        expect((await data(jar)).status).toBe(200);
      }
    });

    it('no longer than its lifetime (30 days), however often it is used', async () => {
      const { jar } = await remembered();
      for (let day = 1; day < 30; day += 1) {
        srv.clock.advance(DAY);
        expect((await data(jar)).status).toBe(200);
      }
      srv.clock.advance(DAY);
      const res = await data(jar);
      expect(res.status).toBe(401);
      expect(jar.cookies.has('sid-remember')).toBe(false);
    });
  });

  describe('a copied credential', () => {
    it('the thief uses it, then the owner: every session and device credential of the user ends, and the team hears of it', async () => {
      const { jar: owner, username } = await remembered();
      const thief = owner.withoutSession();
      srv.clock.advance(31 * MINUTE);
      expect((await data(thief)).status).toBe(200);
      // The thief browses on the session the credential gave them.
      srv.clock.advance(MINUTE);
      expect((await data(thief)).status).toBe(200);
      srv.clock.advance(5 * MINUTE);
      const caught = await data(owner);
      expect(caught.status).toBe(401);
      await settle();
      const account = await srv.users.findByUsername(username);
      expect(replays(account!.id)).toHaveLength(1);
      expect((await data(thief)).status).toBe(401);
      expect((await data(thief.withoutSession())).status).toBe(401);
    });

    it('the owner uses it, then the thief: the same', async () => {
      const { jar: owner, username } = await remembered();
      const thief = owner.withoutSession();
      srv.clock.advance(31 * MINUTE);
      expect((await data(owner)).status).toBe(200);
      srv.clock.advance(MINUTE);
      expect((await data(owner)).status).toBe(200);
      srv.clock.advance(5 * MINUTE);
      expect((await data(thief)).status).toBe(401);
      await settle();
      expect(replays((await srv.users.findByUsername(username))!.id)).toHaveLength(1);
      expect((await data(owner)).status).toBe(401);
    });
  });

  describe('no false alarm', () => {
    it('several tabs restored at once (parallel requests, one old credential): all signed in, no alarm', async () => {
      const { jar, username } = await remembered();
      srv.clock.advance(31 * MINUTE);
      const tabs = Array.from({ length: 6 }, () => jar.withoutSession());
      const answers = await Promise.all(tabs.map((tab) => request(`${srv.url}/trpc/data`, { cookie: tab.header })));
      expect(answers.map((res) => res.status)).toEqual([200, 200, 200, 200, 200, 200]);
      // The browser keeps whichever answers came last; it goes on working.
      for (const res of answers) jar.take(res);
      srv.clock.advance(10 * MINUTE);
      expect((await data(jar)).status).toBe(200);
      srv.clock.advance(31 * MINUTE);
      expect((await data(jar)).status).toBe(200);
      await settle();
      expect(replays((await srv.users.findByUsername(username))!.id)).toEqual([]);
    });

    it('an answer carrying the new credential never reached the browser: its old one still works minutes later, and is replaced then', async () => {
      const { jar, username } = await remembered();
      srv.clock.advance(31 * MINUTE);
      // The resume happens, but its answer is lost: the jar keeps the old credential and no session.
      const lost = await request(`${srv.url}/trpc/data`, { cookie: jar.withoutSession().header });
      expect(lost.status).toBe(200);
      srv.clock.advance(10 * MINUTE);
      const retry = jar.withoutSession();
      const before = retry.cookies.get('sid-remember');
      expect((await data(retry)).status).toBe(200);
      expect(retry.cookies.get('sid-remember')).not.toBe(before);
      srv.clock.advance(31 * MINUTE);
      expect((await data(retry.withoutSession())).status).toBe(200);
      await settle();
      expect(replays((await srv.users.findByUsername(username))!.id)).toEqual([]);
    });
  });

  describe('a rotation the store lost (a failover before a replica had it)', () => {
    it('is no theft: the token it handed over still resumes, and is replaced; a real copy is still caught afterwards', async () => {
      const { jar, username } = await remembered();
      const copy = jar.withoutSession();
      srv.clock.advance(31 * MINUTE);
      lossy.losingRotations = true;
      try {
        expect((await data(jar)).status).toBe(200);
      } finally {
        lossy.losingRotations = false;
      }
      // The browser holds token 1; the store went back to token 0.
      expect(jar.cookies.get('sid-remember')).toMatch(/^[A-Za-z0-9_-]{43}~1~/);
      srv.clock.advance(31 * MINUTE);
      expect((await data(jar)).status).toBe(200);
      expect(jar.cookies.get('sid-remember')).toMatch(/^[A-Za-z0-9_-]{43}~2~/);
      srv.clock.advance(MINUTE);
      expect((await data(jar)).status).toBe(200);
      await settle();
      const userId = (await srv.users.findByUsername(username))!.id;
      expect(replays(userId)).toEqual([]);
      // The copy made before all this (token 0) is older than the previous token: theft, as before.
      srv.clock.advance(31 * MINUTE);
      expect((await data(copy)).status).toBe(401);
      await settle();
      expect(replays(userId)).toHaveLength(1);
      expect((await data(jar)).status).toBe(401);
    });

    it('a resume whose rotation was made but not confirmed answers 503 and leaves no session behind; the device resumes on its next request', async () => {
      const { jar, username } = await remembered();
      srv.clock.advance(31 * MINUTE);
      lossy.unconfirmedRotations = true;
      try {
        expect((await data(jar)).status).toBe(503);
      } finally {
        lossy.unconfirmedRotations = false;
      }
      // Signed in afresh elsewhere: that session is the user's only one (the resume's own was ended, not left indexed).
      const fresh = new Jar().take(await request(`${srv.url}/trpc/auth.login`, { body: { username, password: PASSWORD } }));
      const listed = ((await request(`${srv.url}/trpc/sessions.list`, { cookie: fresh.header })).json as { result: { data: { kind: string }[] } }).result.data;
      expect(listed.filter((view) => view.kind === 'session')).toHaveLength(1);
      // The browser kept its credential (the 503 handed nothing over): it is the previous token, still good once.
      expect((await data(jar)).status).toBe(200);
    });

    it('a number the server never signed is no credential (the number cannot be raised by hand)', async () => {
      const { jar } = await remembered();
      const value = jar.cookies.get('sid-remember')!;
      const raised = new Jar();
      raised.cookies.set('sid-remember', value.replace(/~0~/, '~7~'));
      srv.clock.advance(31 * MINUTE);
      expect((await data(raised)).status).toBe(401);
      expect((await data(jar.withoutSession())).status).toBe(200);
    });
  });

  describe('ending it', () => {
    it('signing out on the device ends its credential too: a copy of it starts nothing afterwards', async () => {
      const { jar } = await remembered();
      const copy = jar.withoutSession();
      const out = await request(`${srv.url}/trpc/auth.logout`, { cookie: jar.header, body: {} });
      expect(out.setCookies.some((line) => line.startsWith('sid-remember=;'))).toBe(true);
      srv.clock.advance(MINUTE);
      expect((await data(copy)).status).toBe(401);
    });

    for (const endAll of ['admin.setRole', 'admin.disableUser', 'admin.revokeUserSessions', 'sessions.revokeOthers', 'auth.changePassword'] as const) {
      it(`${endAll} ends device credentials: the device resumes nothing afterwards`, async () => {
        const { jar, username } = await remembered();
        const device = jar.withoutSession();
        const admin = `stay-admin-${users}`;
        await srv.users.create(admin, (await srv.users.findByUsername(username))!.passwordHash, 'admin');
        const adminJar = new Jar().take(await request(`${srv.url}/trpc/auth.login`, { body: { username: admin, password: PASSWORD } }));
        const other = new Jar().take(await request(`${srv.url}/trpc/auth.login`, { body: { username, password: PASSWORD } }));
        const res =
          endAll === 'sessions.revokeOthers'
            ? await request(`${srv.url}/trpc/${endAll}`, { cookie: other.header, body: {} })
            : endAll === 'auth.changePassword'
              ? await request(`${srv.url}/trpc/${endAll}`, { cookie: other.header, body: { currentPassword: PASSWORD, newPassword: 'the next password' } })
              : await request(`${srv.url}/trpc/${endAll}`, { cookie: adminJar.header, body: endAll === 'admin.setRole' ? { username, role: 'admin' } : { username } });
        expect(res.status).toBe(200);
        srv.clock.advance(MINUTE);
        expect((await data(device)).status).toBe(401);
        expect(device.cookies.has('sid-remember')).toBe(false);
      });
    }

    it('sessions.list shows the remembered device, and revoking its id forgets it', async () => {
      const { jar } = await remembered();
      const device = jar.withoutSession();
      const listed = ((await request(`${srv.url}/trpc/sessions.list`, { cookie: jar.header })).json as { result: { data: { id: string; kind: string; current: boolean }[] } }).result.data;
      const entry = listed.find((view) => view.kind === 'remembered')!;
      expect(entry.current).toBe(true);
      // The registration's session (another tab) and this login's.
      expect(listed.filter((view) => view.kind === 'session')).toHaveLength(2);
      expect((await request(`${srv.url}/trpc/sessions.revoke`, { cookie: jar.header, body: { id: entry.id } })).status).toBe(200);
      srv.clock.advance(MINUTE);
      expect((await data(device)).status).toBe(401);
    });
    it('forgetting one device leaves the user’s others; another user revoking its id gets 404, exactly like an id that never existed, and it lives on', async () => {
      const { username, jar } = await remembered();
      const second = new Jar().take(await request(`${srv.url}/trpc/auth.login`, { body: { username, password: PASSWORD, staySignedIn: true } }));
      const stranger = await remembered();
      type Listed = { result: { data: { id: string; kind: string; current: boolean }[] } };
      const devices = ((await request(`${srv.url}/trpc/sessions.list`, { cookie: jar.header })).json as Listed).result.data.filter((view) => view.kind === 'remembered');
      expect(devices.map((view) => view.current).sort()).toEqual([false, true]);
      const mine = devices.find((view) => view.current)!;
      const secondId = devices.find((view) => !view.current)!.id;

      const foreign = await request(`${srv.url}/trpc/sessions.revoke`, { cookie: stranger.jar.header, body: { id: secondId } });
      const unknown = await request(`${srv.url}/trpc/sessions.revoke`, { cookie: stranger.jar.header, body: { id: 'no-such-device' } });
      expect([foreign.status, errorCode(foreign)]).toEqual([404, 'NOT_FOUND']);
      expect((foreign.json as { error: { message: string } }).error.message).toBe((unknown.json as { error: { message: string } }).error.message);
      expect((await request(`${srv.url}/trpc/sessions.revoke`, { cookie: jar.header, body: { id: mine.id } })).status).toBe(200);

      // Every session idles out: the forgotten device asks for the password; the other one, which the stranger
      // could not forget, resumes.
      srv.clock.advance(31 * MINUTE);
      expect((await data(jar.withoutSession())).status).toBe(401);
      expect((await data(second.withoutSession())).status).toBe(200);
      expect((await data(stranger.jar.withoutSession())).status).toBe(200);
      for (const name of [username, stranger.username]) expect(replays((await srv.users.findByUsername(name))!.id)).toEqual([]);
    });
  });

  describe('bearer clients', () => {
    it('get the credential in the Gatehouse-Remember header, and resume by sending it: a new token and a new credential', async () => {
      users += 1;
      const username = `stay-bearer-${users}`;
      await request(`${srv.url}/trpc/auth.register`, { body: { username, password: PASSWORD } });
      const login = await request(`${srv.url}/trpc/auth.login`, { body: { username, password: PASSWORD, staySignedIn: true }, headers: { 'gatehouse-session': 'bearer' } });
      const credential = login.headers.get('gatehouse-remember')!;
      expect(credential).toMatch(/~/);
      expect(login.setCookies).toEqual([]);
      srv.clock.advance(31 * MINUTE);
      const resumed = await request(`${srv.url}/trpc/data`, { headers: { 'gatehouse-session': 'bearer', 'gatehouse-remember': credential } });
      expect(resumed.status).toBe(200);
      const token = resumed.headers.get('gatehouse-session-token')!;
      expect(resumed.headers.get('gatehouse-remember')).not.toBe(credential);
      expect((await request(`${srv.url}/trpc/data`, { headers: { 'gatehouse-session': 'bearer', authorization: `Bearer ${token}` } })).status).toBe(200);
    });

    it('the typed bearer client keeps the credential, resumes with it after the idle timeout, and forgets it at logout', async () => {
      users += 1;
      const username = `stay-client-${users}`;
      await request(`${srv.url}/trpc/auth.register`, { body: { username, password: PASSWORD } });
      const tokens = memoryTokenStore();
      const { api } = createBearerClient<AppRouter>({ url: srv.url, tokens });
      await api.auth.login.mutate({ username, password: PASSWORD, staySignedIn: true });
      const [session, remember] = [await tokens.get('session'), await tokens.get('remember')];
      expect(remember).toMatch(/^[A-Za-z0-9_-]{43}~0~/);
      srv.clock.advance(31 * MINUTE);
      expect((await api.data.query()).user.username).toBe(username);
      expect(await tokens.get('session')).not.toBe(session);
      expect(await tokens.get('remember')).toMatch(/^[A-Za-z0-9_-]{43}~1~/);
      expect(await api.auth.logout.mutate()).toEqual({ loggedOut: true });
      expect(await tokens.get('session')).toBeUndefined();
      expect(await tokens.get('remember')).toBeUndefined();
      srv.clock.advance(31 * MINUTE);
      await expect(api.data.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    });
  });
});
