import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPasswordHasher, type PasswordHasher } from '../server/accounts/passwordHasher.js';
import { request, sessionCookie, signUp } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';

const password = 'correct horse battery';
const newPassword = 'a brand new password';

/** A real argon2 hasher whose next `verify()` first runs `during` (to play a race deterministically). */
function hookedHasher(real: PasswordHasher) {
  let during: (() => Promise<void>) | undefined;
  const hasher: PasswordHasher = {
    ...real,
    async verify(hash, plain) {
      const hook = during;
      during = undefined;
      await hook?.();
      return real.verify(hash, plain);
    },
  };
  return { hasher, next: (hook: () => Promise<void>) => (during = hook) };
}

let srv: TestServer;
let hook: ReturnType<typeof hookedHasher>;
beforeAll(async () => {
  hook = hookedHasher(await createPasswordHasher());
  srv = await startServer({ env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' }, deps: { hasher: hook.hasher } });
});
afterAll(() => srv.close());

const meOf = async (cookie: string) => (await request(`${srv.url}/trpc/auth.me`, { cookie })).json;
const loginStatus = async (username: string, pw: string) =>
  (await request(`${srv.url}/trpc/auth.login`, { body: { username, password: pw } })).status;

describe('a password change that races the end of its own session', () => {
  it('in one batch after logout: the change is refused with 401, nothing changes, and the other device stays signed in', async () => {
    const first = await signUp(srv.url, 'batch-racer');
    const second = sessionCookie(await request(`${srv.url}/trpc/auth.login`, { body: { username: 'batch-racer', password } }));
    const res = await request(`${srv.url}/trpc/auth.logout,auth.changePassword?batch=1`, {
      cookie: first,
      body: { 1: { currentPassword: password, newPassword } },
    });
    const [logout, change] = res.json as [{ result?: unknown }, { error?: { data: { httpStatus: number } } }];
    expect(logout.result).toEqual({ data: { loggedOut: true } });
    expect(change.error?.data.httpStatus).toBe(401);
    expect(await meOf(first)).toEqual({ result: { data: null } });
    expect((await meOf(second)) as { result: { data: unknown } }).not.toEqual({ result: { data: null } });
    expect(await loginStatus('batch-racer', password)).toBe(200);
    expect(await loginStatus('batch-racer', newPassword)).toBe(401);
  });

  it('logged out while its current password is being checked: 401, the rotation does not bring the session back, the password is unchanged', async () => {
    const cookie = await signUp(srv.url, 'rotation-racer');
    hook.next(async () => {
      const logout = await request(`${srv.url}/trpc/auth.logout`, { cookie, body: {} });
      expect(logout.json).toEqual({ result: { data: { loggedOut: true } } });
    });
    const change = await request(`${srv.url}/trpc/auth.changePassword`, { cookie, body: { currentPassword: password, newPassword } });
    expect(change.status).toBe(401);
    for (const line of change.setCookies) {
      const pair = line.split(';')[0]!;
      expect(await meOf(pair)).toEqual({ result: { data: null } });
    }
    expect(await meOf(cookie)).toEqual({ result: { data: null } });
    expect(await loginStatus('rotation-racer', password)).toBe(200);
    expect(await loginStatus('rotation-racer', newPassword)).toBe(401);
  });
});

describe('changePassword with a stolen cookie', () => {
  it('does not allow unlimited guesses at the current password: 429 with Retry-After after the account limit', async () => {
    const cookie = await signUp(srv.url, 'guess-target');
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const res = await request(`${srv.url}/trpc/auth.changePassword`, {
        cookie,
        body: { currentPassword: `wrong guess ${attempt}`, newPassword },
      });
      statuses.push(res.status);
      retryAfter ??= res.headers.get('retry-after');
    }
    expect(statuses).toEqual([403, 403, 403, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });
});
