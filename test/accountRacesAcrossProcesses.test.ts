import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPasswordHasher } from '../server/accounts/passwordHasher.js';
import { StoreUserDirectory } from '../server/accounts/userDirectory.js';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { openStore } from '../server/store/openStore.js';
import { describeEachBackend } from './helpers/backends.js';
import { request, type RawResponse, sessionCookie, signUp } from './helpers/http.js';
import { TEST_KEY } from './helpers/server.js';
import { storeSecretOf } from './helpers/storeSecret.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';

// L10 and A3 across instances: two Gatehouse processes on one Redis or PostgreSQL, each with gates the test drives
// over HTTP (test/helpers/gatedServerMain.ts), so a request on one is held while the other process runs.
const oldPassword = 'correct horse battery';
const passwordA = 'password of device A';
const passwordB = 'password of device B';
const ACCOUNT_LIMIT = 5;

describeEachBackend(
  'account changes and login guesses across two processes',
  (backendOf) => {
    let one: ServerProcess;
    let two: ServerProcess;
    let store: KeyValueStore;
    let directory: StoreUserDirectory;
    let adminCookie: string;
    let user = 0;
    const fresh = (prefix: string) => `${prefix}-${(user += 1)}`;

    beforeAll(async () => {
      const env = { ...backendOf().env, SESSION_KEYS: TEST_KEY, LOGIN_MAX_FAILURES_PER_ACCOUNT: String(ACCOUNT_LIMIT), LOGIN_MAX_FAILURES_PER_ADDRESS: '10000', REGISTER_MAX_PER_ADDRESS: '10000' };
      [one, two] = await Promise.all([
        startServerProcess(env, 30_000, 'test/helpers/gatedServerMain.ts'),
        startServerProcess(env, 30_000, 'test/helpers/gatedServerMain.ts'),
      ]);
      // The processes know only the environment (so PostgreSQL's default table): open the same key space.
      store = await openStore({ url: backendOf().url, timeoutMs: 5_000, namespace: backendOf().namespace });
      const hasher = await createPasswordHasher();
      // The processes' directory: the store's secret, under their SESSION_KEYS.
      directory = new StoreUserDirectory(store, storeSecretOf(store, [TEST_KEY]));
      await directory.create('procs-admin', await hasher.hash(oldPassword), 'admin');
      adminCookie = sessionCookie(await login(one, 'procs-admin', oldPassword));
    });
    afterAll(async () => {
      await Promise.all([one?.stop(), two?.stop()]);
      await store?.close();
    });

    const gate = (server: ServerProcess, name: string, action: 'arm' | 'held' | 'release' | 'count', query = '') =>
      request(`${server.url}/__gates/${name}/${action}${query}`, action === 'held' || action === 'count' ? {} : { body: {} });
    const blocked = async (server: ServerProcess, name: string) => ((await gate(server, name, 'count')).json as { blocked: number }).blocked;
    function login(server: ServerProcess, username: string, password: string): Promise<RawResponse> {
      return request(`${server.url}/trpc/auth.login`, { body: { username, password } });
    }
    const change = (server: ServerProcess, cookie: string, newPassword: string) =>
      request(`${server.url}/trpc/auth.changePassword`, { cookie, body: { currentPassword: oldPassword, newPassword } });
    const data = (server: ServerProcess, cookie: string) => request(`${server.url}/trpc/data`, { cookie });
    const roleOf = async (username: string) => (await directory.findByUsername(username))?.role;
    async function expectOnlyPassword(username: string, winner: string) {
      for (const candidate of [oldPassword, passwordA, passwordB]) {
        expect((await login(two, username, candidate)).status, `login with "${candidate}"`).toBe(candidate === winner ? 200 : 401);
      }
    }

    it('two password changes, one on each process, A held before its write: B is 200 and in effect, A is 409 and keeps nothing', async () => {
      const username = fresh('procs-pw');
      const a = await signUp(one.url, username, oldPassword);
      const b = sessionCookie(await login(two, username, oldPassword));
      await gate(one, 'write', 'arm');
      const pendingA = change(one, a, passwordA);
      await gate(one, 'write', 'held');
      const resB = await change(two, b, passwordB);
      await gate(one, 'write', 'release');
      const resA = await pendingA;
      expect(resB.status).toBe(200);
      expect(resA.status).toBe(409);
      expect((await data(one, sessionCookie(resB))).status).toBe(200);
      for (const cookie of [a, b]) expect((await data(one, cookie)).status).toBe(401);
      await expectOnlyPassword(username, passwordB);
    });

    it('a demotion on one process held before its write while a password change runs on the other: the role change holds and every session ends', async () => {
      const username = fresh('procs-demote');
      const cookie = await signUp(two.url, username, oldPassword);
      await request(`${one.url}/trpc/admin.setRole`, { cookie: adminCookie, body: { username, role: 'admin' } });
      const adminSession = sessionCookie(await login(two, username, oldPassword));
      await gate(one, 'write', 'arm');
      const pendingDemotion = request(`${one.url}/trpc/admin.setRole`, { cookie: adminCookie, body: { username, role: 'user' } });
      await gate(one, 'write', 'held');
      const changed = await change(two, adminSession, passwordA);
      await gate(one, 'write', 'release');
      const demoted = await pendingDemotion;
      expect(changed.status).toBe(200);
      expect(demoted.status).toBe(200);
      expect(await roleOf(username)).toBe('user');
      for (const c of [cookie, adminSession, sessionCookie(changed)]) expect((await data(two, c)).status).toBe(401);
      await expectOnlyPassword(username, passwordA);
    });

    it(`40 wrong passwords at once, half through each process: exactly ${ACCOUNT_LIMIT} are checked (401), the rest 429, and the account is then blocked`, async () => {
      const username = fresh('procs-guess');
      await signUp(one.url, username, oldPassword);
      // Hold every admitted guess inside its password check until all 40 were either admitted or refused.
      await Promise.all([gate(one, 'verify', 'arm', '?times=40'), gate(two, 'verify', 'arm', '?times=40')]);
      const answers: RawResponse[] = [];
      const pending = Array.from({ length: 40 }, (_, i) => login(i % 2 ? two : one, username, `wrong guess ${i}!`).then((res) => answers.push(res)));
      for (let round = 0; round < 1_000; round += 1) {
        if (answers.length + (await blocked(one, 'verify')) + (await blocked(two, 'verify')) === 40) break;
      }
      const checked = (await blocked(one, 'verify')) + (await blocked(two, 'verify'));
      await Promise.all([gate(one, 'verify', 'release'), gate(two, 'verify', 'release')]);
      await Promise.all(pending);
      expect(checked).toBe(ACCOUNT_LIMIT);
      const statuses = answers.map((res) => res.status);
      expect(statuses.filter((status) => status === 401)).toHaveLength(ACCOUNT_LIMIT);
      expect(statuses.filter((status) => status === 429)).toHaveLength(40 - ACCOUNT_LIMIT);
      const right = await login(two, username, oldPassword);
      expect(right.status).toBe(429);
      expect(right.headers.get('retry-after')).toBe('60');
    });
  },
  ['redis', 'postgres'],
);
