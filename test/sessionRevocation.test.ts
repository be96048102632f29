import { directoryOf } from './helpers/server.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicIdOf, storeKeyOf } from '../server/session/sessionId.js';
import { describeEachBackend, WITH_KEYV } from './helpers/backends.js';
import { idOfCookie, startBackendServer } from './helpers/backendServer.js';
import { errorCode, request, sessionCookie, signUp } from './helpers/http.js';
import type { TestServer } from './helpers/server.js';
import { storeSecretIn, userKeysOf } from './helpers/storeSecret.js';

const password = 'correct horse battery';

interface ListedView {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  userAgent: string | null;
  device: string | null;
  carrier: 'cookie' | 'bearer';
  current: boolean;
}

describeEachBackend('revoking sessions over HTTP', (backendOf) => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startBackendServer(backendOf());
  });
  afterAll(() => srv.close());

  const login = async (username: string, userAgent: string, pass = password) => {
    const res = await request(`${srv.url}/trpc/auth.login`, { body: { username, password: pass }, headers: { 'user-agent': userAgent } });
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.body}`);
    return sessionCookie(res);
  };
  const data = (cookie: string) => request(`${srv.url}/trpc/data`, { cookie });
  const list = async (cookie: string) => {
    const res = await request(`${srv.url}/trpc/sessions.list`, { cookie });
    expect(res.status).toBe(200);
    return (res.json as { result: { data: ListedView[] } }).result.data;
  };
  const mutate = (path: string, cookie: string, body: unknown = {}) => request(`${srv.url}/trpc/${path}`, { cookie, body });

  describe('sessions.list', () => {
    it('shows each live session once with an opaque id, dates, user agent, and which one is current', async () => {
      await signUp(srv.url, 'lister');
      const laptop = await login('lister', 'Laptop/1.0');
      const phone = await login('lister', 'Phone/2.0');
      const views = await list(laptop);
      // The registration session is live too.
      expect(views).toHaveLength(3);
      const mine = views.find((v) => v.current)!;
      expect(views.filter((v) => v.current)).toHaveLength(1);
      expect(mine.userAgent).toBe('Laptop/1.0');
      // A short name people recognise, from the User-Agent (a browser's reads "Chrome on Linux"; a client's own, its product).
      expect(mine.device).toBe('Laptop');
      expect(views.map((v) => v.userAgent)).toContain('Phone/2.0');
      expect(mine.id).toBe(publicIdOf(idOfCookie(laptop)));
      for (const cookie of [laptop, phone]) {
        const id = idOfCookie(cookie);
        const value = cookie.slice(cookie.indexOf('=') + 1);
        for (const view of views) {
          expect(view.id).not.toBe(id);
          expect(view.id).not.toBe(value);
          expect(value).not.toContain(view.id);
          expect(storeKeyOf(id)).not.toContain(view.id);
          expect(Object.keys(view).sort()).toEqual(['authenticatedAt', 'carrier', 'createdAt', 'current', 'device', 'expiresAt', 'id', 'kind', 'lastSeenAt', 'userAgent']);
          expect(view.carrier).toBe('cookie');
          expect(new Date(view.createdAt).toISOString()).toBe(view.createdAt);
        }
      }
    });

    it('is 401 without a session', async () => {
      const res = await request(`${srv.url}/trpc/sessions.list`);
      expect(res.status).toBe(401);
      expect(errorCode(res)).toBe('UNAUTHORIZED');
    });
  });

  describe('sessions.list with a corrupted or planted index', () => {
    it('an index entry pointing at another user’s session is not listed (and is pruned); revoking it is 404 and revoking all others leaves it alive', async () => {
      const victim = await signUp(srv.url, 'index-victim');
      const attacker = await signUp(srv.url, 'index-planter');
      const attackerUser = (await directoryOf(srv.gatehouse).findByUsername('index-planter'))!;
      // Plant the victim's record in the attacker's index, as a corrupted store or a bug elsewhere might.
      const planted = 'planted-public-id-0000';
      const attackerIndex = userKeysOf(await storeSecretIn(srv.gatehouse.store), attackerUser.id).sessions;
      await srv.gatehouse.store.mapSet(attackerIndex, planted, storeKeyOf(idOfCookie(victim)), 60_000);
      const views = await list(attacker);
      expect(views.map((view) => view.id)).not.toContain(planted);
      expect(views).toHaveLength(1);
      expect((await srv.gatehouse.store.mapGetAll(attackerIndex)).has(planted)).toBe(false);
      await srv.gatehouse.store.mapSet(attackerIndex, planted, storeKeyOf(idOfCookie(victim)), 60_000);
      const revoke = await mutate('sessions.revoke', attacker, { id: planted });
      expect(revoke.status).toBe(404);
      expect((await data(victim)).status).toBe(200);
      // Nor does "end all my other sessions" follow it into the victim's record.
      await srv.gatehouse.store.mapSet(attackerIndex, planted, storeKeyOf(idOfCookie(victim)), 60_000);
      const others = await mutate('sessions.revokeOthers', attacker);
      expect(others.json).toEqual({ result: { data: { endedSessions: 0 } } });
      expect((await data(victim)).status).toBe(200);
    });
  });

  describe('sessions.revoke', () => {
    it('ends another of the caller’s sessions: its cookie gets 401, the caller’s still works', async () => {
      await signUp(srv.url, 'revoker');
      const a = await login('revoker', 'A');
      const b = await login('revoker', 'B');
      const target = publicIdOf(idOfCookie(b));
      const res = await mutate('sessions.revoke', a, { id: target });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ result: { data: { endedSessions: 1 } } });
      expect((await data(b)).status).toBe(401);
      expect((await data(a)).status).toBe(200);
      expect((await list(a)).map((v) => v.id)).not.toContain(target);
    });

    it('answers another user’s session id with 404, exactly like an id that never existed, and leaves it alive', async () => {
      const mallory = await signUp(srv.url, 'mallory');
      const victim = await signUp(srv.url, 'victim');
      const foreign = await mutate('sessions.revoke', mallory, { id: publicIdOf(idOfCookie(victim)) });
      const unknown = await mutate('sessions.revoke', mallory, { id: 'AAAAAAAAAAAAAAAAAAAAAA' });
      expect(foreign.status).toBe(404);
      expect(unknown.status).toBe(404);
      expect(errorCode(foreign)).toBe('NOT_FOUND');
      const strip = (json: unknown) => {
        const copy = structuredClone(json) as { error: { data: { requestId?: string } } };
        delete copy.error.data.requestId;
        return copy;
      };
      expect(strip(foreign.json)).toEqual(strip(unknown.json));
      expect((await data(victim)).status).toBe(200);
    });

    it('revoking the current session ends it and clears the cookie', async () => {
      const self = await signUp(srv.url, 'self-revoker');
      const res = await mutate('sessions.revoke', self, { id: publicIdOf(idOfCookie(self)) });
      expect(res.status).toBe(200);
      expect(res.setCookies.some((c) => /^sid=;/.test(c))).toBe(true);
      expect((await data(self)).status).toBe(401);
    });
  });

  describe('sessions.revokeOthers', () => {
    it('ends every other session of the caller and keeps the current one', async () => {
      await signUp(srv.url, 'many-devices');
      const keep = await login('many-devices', 'keep');
      const others = [await login('many-devices', 'x'), await login('many-devices', 'y')];
      const res = await mutate('sessions.revokeOthers', keep);
      expect(res.status).toBe(200);
      // The two logins plus the registration session.
      expect(res.json).toEqual({ result: { data: { endedSessions: 3 } } });
      for (const cookie of others) expect((await data(cookie)).status).toBe(401);
      expect((await data(keep)).status).toBe(200);
      const views = await list(keep);
      expect(views).toHaveLength(1);
      expect(views[0]!.current).toBe(true);
    });

    it('in one batch after logout it is refused with 401 and ends nothing: the other devices stay signed in', async () => {
      await signUp(srv.url, 'batch-revoker');
      const leaving = await login('batch-revoker', 'leaving');
      const others = [await login('batch-revoker', 'a'), await login('batch-revoker', 'b')];
      const res = await request(`${srv.url}/trpc/auth.logout,sessions.revokeOthers?batch=1`, { cookie: leaving, body: {} });
      const [logout, revoke] = res.json as [{ result?: unknown }, { error?: { data: { httpStatus: number; code: string } } }];
      expect(logout.result).toEqual({ data: { loggedOut: true } });
      expect(revoke.error?.data.httpStatus).toBe(401);
      expect(revoke.error?.data.code).toBe('UNAUTHORIZED');
      expect((await data(leaving)).status).toBe(401);
      for (const cookie of others) expect((await data(cookie)).status).toBe(200);
    });
  });

  describe('auth.changePassword', () => {
    it('with a wrong current password is 403 and changes nothing', async () => {
      const cookie = await signUp(srv.url, 'wrong-current');
      const other = await login('wrong-current', 'other');
      const res = await mutate('auth.changePassword', cookie, { currentPassword: 'not it at all', newPassword: 'a brand new password' });
      expect(res.status).toBe(403);
      expect(res.setCookies).toEqual([]);
      expect((await data(cookie)).status).toBe(200);
      expect((await data(other)).status).toBe(200);
      await login('wrong-current', 'again');
    });

    it('rotates the current id, ends every other session, and only the new password works afterwards', async () => {
      const current = await signUp(srv.url, 'changer');
      const other = await login('changer', 'other device');
      const newPassword = 'a brand new password';
      const res = await mutate('auth.changePassword', current, { currentPassword: password, newPassword });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ result: { data: { endedSessions: 1 } } });
      const rotated = sessionCookie(res);
      expect(idOfCookie(rotated)).not.toBe(idOfCookie(current));
      expect((await data(rotated)).status).toBe(200);
      expect((await data(current)).status).toBe(401);
      expect((await data(other)).status).toBe(401);
      const oldLogin = await request(`${srv.url}/trpc/auth.login`, { body: { username: 'changer', password } });
      expect(oldLogin.status).toBe(401);
      await login('changer', 'fresh', newPassword);
      expect((await list(rotated)).filter((v) => v.current)).toHaveLength(1);
    });
  });

  describe('admin.revokeUserSessions', () => {
    it('is 403 for a user without the admin role', async () => {
      const plain = await signUp(srv.url, 'not-admin');
      const res = await mutate('admin.revokeUserSessions', plain, { username: 'not-admin' });
      expect(res.status).toBe(403);
      expect(errorCode(res)).toBe('FORBIDDEN');
    });

    it('lets an admin end every session of a user, and is 404 for an unknown user', async () => {
      await signUp(srv.url, 'the-admin');
      const admin = await directoryOf(srv.gatehouse).findByUsername('the-admin');
      await directoryOf(srv.gatehouse).updateLatest(admin!.id, () => ({ role: 'admin' }));
      // The role is read at login: sign in again to get an admin session.
      const adminCookie = await login('the-admin', 'admin console');
      const target = [await signUp(srv.url, 'target-user'), await login('target-user', 'second')];
      const res = await mutate('admin.revokeUserSessions', adminCookie, { username: 'target-user' });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ result: { data: { endedSessions: 2 } } });
      for (const cookie of target) expect((await data(cookie)).status).toBe(401);
      expect((await data(adminCookie)).status).toBe(200);
      const missing = await mutate('admin.revokeUserSessions', adminCookie, { username: 'no-such-user' });
      expect(missing.status).toBe(404);
    });
  });
}, WITH_KEYV);
