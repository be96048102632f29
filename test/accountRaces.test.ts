import { directoryOf } from './helpers/server.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPasswordHasher, type PasswordHasher } from '../server/accounts/passwordHasher.js';
import { describeEachBackend, WITH_KEYV } from './helpers/backends.js';
import { startBackendServer } from './helpers/backendServer.js';
import { Gate, gatedHasher, gatedStore } from './helpers/gates.js';
import { errorCode, request, type RawResponse, sessionCookie, signUp } from './helpers/http.js';
import type { TestServer } from './helpers/server.js';

// L10 / attacks 23 and 24: every change to an account is one conditional write. Each race is played the same way:
// one request is held inside its handler at a gate, the other runs to its end, then the first is released.
const oldPassword = 'correct horse battery';
const passwordA = 'password of device A';
const passwordB = 'password of device B';

describeEachBackend('account changes that race', (backendOf) => {
  let srv: TestServer;
  let hasher: PasswordHasher;
  const gates = { hash: new Gate(), verify: new Gate(), write: new Gate(), index: new Gate() };
  let adminCookie: string;
  let user = 0;
  const fresh = (prefix: string) => `${prefix}-${(user += 1)}`;

  beforeAll(async () => {
    hasher = await createPasswordHasher();
    const backend = backendOf();
    const store = gatedStore(await backend.open(), {
      // Between reading the account and writing it.
      compareAndSet: { gate: gates.write, key: /^ai:/ },
      // Just before a new session joins its user's index.
      mapSet: { gate: gates.index, key: /^si:/ },
    });
    // The server's hasher is gated too (after the account is read, before the password is checked or hashed).
    srv = await startBackendServer(backend, { store, deps: { hasher: gatedHasher(hasher, { hash: gates.hash, verify: gates.verify }) } });
    await directoryOf(srv.gatehouse).create('race-admin', await hasher.hash(oldPassword), 'admin');
    adminCookie = sessionCookie(await login('race-admin', oldPassword));
  });
  afterAll(async () => {
    for (const gate of Object.values(gates)) gate.release();
    await srv.close();
  });

  function login(username: string, password: string): Promise<RawResponse> {
    return request(`${srv.url}/trpc/auth.login`, { body: { username, password } });
  }
  const change = (cookie: string, newPassword: string) =>
    request(`${srv.url}/trpc/auth.changePassword`, { cookie, body: { currentPassword: oldPassword, newPassword } });
  const admin = (path: string, body: unknown) => request(`${srv.url}/trpc/admin.${path}`, { cookie: adminCookie, body });
  const data = (cookie: string) => request(`${srv.url}/trpc/data`, { cookie });
  const cookiesOf = (res: RawResponse) => res.setCookies.map((line) => line.split(';')[0]!).filter((pair) => !pair.endsWith('='));
  const roleOf = async (username: string) => (await directoryOf(srv.gatehouse).findByUsername(username))?.role;
  const liveSessions = async (username: string) => {
    const account = await directoryOf(srv.gatehouse).findByUsername(username);
    return account ? (await srv.gatehouse.services.sessions.listForUser(account.id)).length : 0;
  };

  /** Two devices of one fresh user, each with its own session. */
  async function twoDevices(prefix: string) {
    const username = fresh(prefix);
    const a = await signUp(srv.url, username, oldPassword);
    const b = sessionCookie(await login(username, oldPassword));
    return { username, a, b };
  }

  /** Exactly one password is in effect: `winner`'s. */
  async function expectOnlyPassword(username: string, winner: string) {
    for (const candidate of [oldPassword, passwordA, passwordB]) {
      expect((await login(username, candidate)).status, `login with "${candidate}"`).toBe(candidate === winner ? 200 : 401);
    }
  }

  describe('two password changes of one user at the same moment', () => {
    it('A held inside its current-password check (before rotating) while B runs: B is 200 and in effect; A is 401 and changes nothing', async () => {
      const { username, a, b } = await twoDevices('pw-verify');
      gates.verify.arm();
      const pendingA = change(a, passwordA);
      await gates.verify.held();
      const resB = await change(b, passwordB);
      gates.verify.release();
      const resA = await pendingA;

      expect(resB.status).toBe(200);
      // B ended every other session, A's included, before A's rotation: A finds no session to rotate.
      expect(resA.status).toBe(401);
      expect(errorCode(resA)).toBe('UNAUTHORIZED');
      expect((await data(sessionCookie(resB))).status).toBe(200);
      for (const cookie of [a, b, ...cookiesOf(resA)]) expect((await data(cookie)).status).toBe(401);
      expect(await liveSessions(username)).toBe(1);
      await expectOnlyPassword(username, passwordB);
    });

    it('A held while hashing its new password (after rotating its session) while B runs: B is 200 and in effect; A is 409 and changes nothing', async () => {
      const { username, a, b } = await twoDevices('pw-hash');
      gates.hash.arm();
      const pendingA = change(a, passwordA);
      await gates.hash.held();
      const resB = await change(b, passwordB);
      gates.hash.release();
      const resA = await pendingA;

      expect(resB.status).toBe(200);
      expect(resA.status).toBe(409);
      expect(errorCode(resA)).toBe('CONFLICT');
      const rotatedB = sessionCookie(resB);
      expect((await data(rotatedB)).status).toBe(200);
      for (const cookie of [a, b, ...cookiesOf(resA)]) expect((await data(cookie)).status).toBe(401);
      expect(await liveSessions(username)).toBe(1);
      await expectOnlyPassword(username, passwordB);
    });

    it('A held between rotating its session and writing the new password while B runs: A is 409 CONFLICT, ends the session it rotated, writes nothing', async () => {
      const { username, a, b } = await twoDevices('pw-write');
      gates.write.arm();
      const pendingA = change(a, passwordA);
      await gates.write.held();
      const resB = await change(b, passwordB);
      gates.write.release();
      const resA = await pendingA;

      expect(resB.status).toBe(200);
      expect(resA.status).toBe(409);
      expect(errorCode(resA)).toBe('CONFLICT');
      expect((resA.json as { error: { message: string } }).error.message).toContain('nothing was changed');
      expect((await data(sessionCookie(resB))).status).toBe(200);
      for (const cookie of [a, b, ...cookiesOf(resA)]) expect((await data(cookie)).status).toBe(401);
      expect(await liveSessions(username)).toBe(1);
      await expectOnlyPassword(username, passwordB);
    });

    it('the same with B held and A running: the winner is whoever wrote first, never both', async () => {
      const { username, a, b } = await twoDevices('pw-write-b');
      gates.write.arm();
      const pendingB = change(b, passwordB);
      await gates.write.held();
      const resA = await change(a, passwordA);
      gates.write.release();
      const resB = await pendingB;
      expect([resA.status, resB.status]).toEqual([200, 409]);
      expect((await data(sessionCookie(resA))).status).toBe(200);
      expect(await liveSessions(username)).toBe(1);
      await expectOnlyPassword(username, passwordA);
    });
  });

  describe('an administrator’s change racing the user’s own', () => {
    it('a demotion while a password change is held before its write: the demotion holds, the change is 409, every session ends', async () => {
      const username = fresh('demote-vs-pw');
      const cookie = await signUp(srv.url, username, oldPassword);
      await admin('setRole', { username, role: 'admin' });
      const adminSession = sessionCookie(await login(username, oldPassword));
      gates.write.arm();
      const pending = change(adminSession, passwordA);
      await gates.write.held();
      const demoted = await admin('setRole', { username, role: 'user' });
      gates.write.release();
      const res = await pending;

      expect(demoted.status).toBe(200);
      expect(res.status).toBe(409);
      expect(await roleOf(username)).toBe('user');
      for (const c of [cookie, adminSession, ...cookiesOf(res)]) expect((await data(c)).status).toBe(401);
      await expectOnlyPassword(username, oldPassword);
      const again = await login(username, oldPassword);
      expect((again.json as { result: { data: { user: { role: string } } } }).result.data.user.role).toBe('user');
      expect((await request(`${srv.url}/trpc/admin.revokeUserSessions`, { cookie: sessionCookie(again), body: { username } })).status).toBe(403);
    });

    it('a demotion held before its write while a password change runs: the demotion still holds (it retries on the new version), the new password stays', async () => {
      const username = fresh('pw-vs-demote');
      await signUp(srv.url, username, oldPassword);
      await admin('setRole', { username, role: 'admin' });
      const adminSession = sessionCookie(await login(username, oldPassword));
      gates.write.arm();
      const pendingDemotion = admin('setRole', { username, role: 'user' });
      await gates.write.held();
      const changed = await change(adminSession, passwordA);
      gates.write.release();
      const demoted = await pendingDemotion;

      expect(changed.status).toBe(200);
      expect(demoted.status).toBe(200);
      expect(await roleOf(username)).toBe('user');
      // The demotion ended every session, the one the password change rotated included.
      expect((await data(sessionCookie(changed))).status).toBe(401);
      expect(await liveSessions(username)).toBe(0);
      await expectOnlyPassword(username, passwordA);
    });

    it('a login held inside its password check while the user is demoted: it signs in with the new role, never the old', async () => {
      const username = fresh('login-vs-demote');
      await signUp(srv.url, username, oldPassword);
      await admin('setRole', { username, role: 'admin' });
      gates.verify.arm();
      const pending = login(username, oldPassword);
      await gates.verify.held();
      expect((await admin('setRole', { username, role: 'user' })).status).toBe(200);
      gates.verify.release();
      const res = await pending;
      expect(res.status).toBe(200);
      expect((res.json as { result: { data: { user: { role: string } } } }).result.data.user.role).toBe('user');
      const me = await request(`${srv.url}/trpc/auth.me`, { cookie: sessionCookie(res) });
      expect((me.json as { result: { data: { user: { role: string } } } }).result.data.user.role).toBe('user');
      expect(await liveSessions(username)).toBe(1);
    });

    it('a login held just before its session is indexed while the account is disabled: 401, and no session survives', async () => {
      const username = fresh('login-vs-disable');
      await signUp(srv.url, username, oldPassword);
      gates.index.arm();
      const pending = login(username, oldPassword);
      await gates.index.held();
      const disabled = await admin('disableUser', { username });
      gates.index.release();
      const res = await pending;
      expect(disabled.status).toBe(200);
      expect(res.status).toBe(401);
      for (const cookie of cookiesOf(res)) expect((await data(cookie)).status).toBe(401);
      expect(await liveSessions(username)).toBe(0);
      expect((await login(username, oldPassword)).status).toBe(401);
    });

    it('a deletion while a password change is held before its write: the change is 409, and the account and its sessions are gone', async () => {
      const { username, a, b } = await twoDevices('delete-vs-pw');
      gates.write.arm();
      const pending = change(a, passwordA);
      await gates.write.held();
      expect((await admin('deleteUser', { username })).status).toBe(200);
      gates.write.release();
      const res = await pending;
      expect(res.status).toBe(409);
      expect(await directoryOf(srv.gatehouse).findByUsername(username)).toBeUndefined();
      for (const cookie of [a, b, ...cookiesOf(res)]) expect((await data(cookie)).status).toBe(401);
      for (const candidate of [oldPassword, passwordA]) expect((await login(username, candidate)).status).toBe(401);
    });
  });
}, WITH_KEYV);
