import { directoryOf } from './helpers/server.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from './helpers/backends.js';
import { startBackendServer } from './helpers/backendServer.js';
import { request, sessionCookie, signUp } from './helpers/http.js';
import { run } from './helpers/run.js';
import { TEST_KEY, type TestServer } from './helpers/server.js';

const password = 'a password for the cli';

describeEachBackend(
  'npm run users against the configured store',
  (backendOf) => {
    let srv: TestServer;
    beforeAll(async () => {
      srv = await startBackendServer(backendOf());
    });
    afterAll(() => srv.close());

    const users = (args: string[], input = '') =>
      run('npm', ['run', '--silent', 'users', '--', ...args], {
        env: { ...backendOf().env, SESSION_KEYS: TEST_KEY, NODE_ENV: 'test' },
        input,
      });
    const login = async (username: string, pass = password) => request(`${srv.url}/trpc/auth.login`, { body: { username, password: pass } });
    const data = (cookie: string) => request(`${srv.url}/trpc/data`, { cookie });

    it('create makes a user who can log in with the password given on stdin', async () => {
      const created = await users(['create', 'Cli-User'], `${password}\n`);
      expect(created.stdout.trim()).toBe('created user cli-user (user)');
      expect(created.code).toBe(0);
      expect((await login('cli-user')).status).toBe(200);
      const again = await users(['create', 'cli-user'], `${password}\n`);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('user "cli-user" already exists');
    });

    it('set-role admin ends the user’s sessions, and the next login is an admin session', async () => {
      await users(['create', 'cli-admin'], `${password}\n`);
      const before = sessionCookie(await login('cli-admin'));
      const promoted = await users(['set-role', 'cli-admin', 'admin']);
      expect(promoted.stdout.trim()).toBe('cli-admin is now admin; ended 1 session(s)');
      expect((await data(before)).status).toBe(401);
      const res = await login('cli-admin');
      expect((res.json as { result: { data: { user: { role: string } } } }).result.data.user.role).toBe('admin');
      const adminCall = await request(`${srv.url}/trpc/admin.revokeUserSessions`, { cookie: sessionCookie(res), body: { username: 'cli-user' } });
      expect(adminCall.status).toBe(200);
    });

    it('revoke-sessions ends every session of the user at once', async () => {
      const cookies = [await signUp(srv.url, 'cli-victim'), sessionCookie(await login('cli-victim', 'correct horse battery'))];
      const revoked = await users(['revoke-sessions', 'cli-victim']);
      expect(revoked.stdout.trim()).toBe('ended 2 session(s) of cli-victim');
      expect(revoked.code).toBe(0);
      for (const cookie of cookies) expect((await data(cookie)).status).toBe(401);
    });

    it('disable ends every session and refuses logins like a wrong password; enable lets the user in again', async () => {
      const cookie = await signUp(srv.url, 'cli-disabled');
      const disabled = await users(['disable', 'cli-disabled']);
      expect(disabled.stdout.trim()).toBe('cli-disabled is disabled; ended 1 session(s)');
      expect(disabled.code).toBe(0);
      expect((await data(cookie)).status).toBe(401);
      const refused = await login('cli-disabled', 'correct horse battery');
      const wrong = await login('cli-disabled', 'a wrong password');
      expect(refused.status).toBe(401);
      const shape = (res: typeof refused) => {
        const { message, data: { code, httpStatus } } = (res.json as { error: { message: string; data: { code: string; httpStatus: number } } }).error;
        return { message, code, httpStatus };
      };
      expect(shape(refused)).toEqual(shape(wrong));
      expect(shape(refused).message).toBe('Wrong username or password.');
      const enabled = await users(['enable', 'cli-disabled']);
      expect(enabled.stdout.trim()).toBe('cli-disabled is enabled');
      expect((await login('cli-disabled', 'correct horse battery')).status).toBe(200);
    });

    it('delete removes the account and ends its sessions; the name can be registered again', async () => {
      const cookie = await signUp(srv.url, 'cli-deleted');
      const deleted = await users(['delete', 'cli-deleted']);
      expect(deleted.stdout.trim()).toBe('deleted cli-deleted; ended 1 session(s)');
      expect((await data(cookie)).status).toBe(401);
      expect((await login('cli-deleted', 'correct horse battery')).status).toBe(401);
      expect(await directoryOf(srv.gatehouse).findByUsername('cli-deleted')).toBeUndefined();
      const again = await users(['delete', 'cli-deleted']);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('no user "cli-deleted"');
      await signUp(srv.url, 'cli-deleted', 'a different password');
    });

    it('an unknown user or command is exit code 1 with a message saying what is wrong', async () => {
      const missing = await users(['revoke-sessions', 'nobody-at-all']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('no user "nobody-at-all"');
      const unknown = await users(['frobnicate']);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('unknown command "frobnicate"');
      expect(unknown.stderr).toContain('Usage: npm run users');
    });
  },
  ['sqlite', 'redis'],
);
