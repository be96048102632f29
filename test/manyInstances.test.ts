import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from './helpers/backends.js';
import { request, sessionCookie, signUp } from './helpers/http.js';
import { TEST_KEY } from './helpers/server.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';

const password = 'correct horse battery';

describeEachBackend(
  'two Gatehouse processes on one store',
  (backendOf) => {
    let first: ServerProcess;
    let second: ServerProcess;
    beforeAll(async () => {
      const env = { ...backendOf().env, SESSION_KEYS: TEST_KEY };
      [first, second] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    });
    afterAll(async () => {
      await Promise.all([first?.stop(), second?.stop()]);
    });

    const data = (server: ServerProcess, cookie: string) => request(`${server.url}/trpc/data`, { cookie });

    it('a session started on the first works on the second; logged out on the second, the first rejects it at once', async () => {
      expect(first.url).not.toBe(second.url);
      const cookie = await signUp(first.url, 'two-procs');
      expect((await data(second, cookie)).status).toBe(200);
      const logout = await request(`${second.url}/trpc/auth.logout`, { cookie, body: {} });
      expect(logout.json).toEqual({ result: { data: { loggedOut: true } } });
      expect((await data(first, cookie)).status).toBe(401);
      expect((await data(second, cookie)).status).toBe(401);
    });

    it('a password changed on the second ends every other session on the first at once, and the rotated cookie works on both', async () => {
      const changing = await signUp(first.url, 'two-procs-pw');
      const otherDevice = sessionCookie(await request(`${first.url}/trpc/auth.login`, { body: { username: 'two-procs-pw', password } }));
      const res = await request(`${second.url}/trpc/auth.changePassword`, {
        cookie: changing,
        body: { currentPassword: password, newPassword: 'another long password' },
      });
      expect(res.status).toBe(200);
      const rotated = sessionCookie(res);
      expect((await data(first, changing)).status).toBe(401);
      expect((await data(first, otherDevice)).status).toBe(401);
      expect((await data(first, rotated)).status).toBe(200);
      expect((await request(`${first.url}/trpc/auth.login`, { body: { username: 'two-procs-pw', password } })).status).toBe(401);
    });

    it('/healthz on both names the shared backend', async () => {
      for (const server of [first, second]) {
        const health = await request(`${server.url}/healthz`);
        expect(health.json).toEqual({ status: 'ok', store: backendOf().kind });
      }
    });
  },
  ['redis', 'redis-cluster', 'redis-sentinel'],
);
