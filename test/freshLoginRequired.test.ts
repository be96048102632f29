import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, request, type RawResponse, sessionCookie, signUp } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';

// L9 (issue 18 §5, item 2 and "also"): the sensitive actions — every admin.* procedure and a password change —
// refuse a session whose login is older than the fresh-login window (10 minutes), whatever else it may do.
const password = 'correct horse battery';
const FRESH_WINDOW_MS = 10 * 60_000;

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(() => srv.close());

const call = (path: string, cookie: string, body: unknown = {}) => request(`${srv.url}/trpc/${path}`, { cookie, body });
const dataStatus = async (cookie: string) => (await request(`${srv.url}/trpc/data`, { cookie })).status;
const loginStatus = async (username: string, pass: string) => (await request(`${srv.url}/trpc/auth.login`, { body: { username, password: pass } })).status;
const account = (username: string) => srv.users.findByUsername(username);

function expectFreshLoginRequired(res: RawResponse) {
  expect(res.status).toBe(412);
  expect(errorCode(res)).toBe('PRECONDITION_FAILED');
  expect((res.json as { error: { data: { reason?: string } } }).error.data.reason).toBe('FRESH_LOGIN_REQUIRED');
  expect(res.setCookies).toEqual([]);
}

/** An admin session: the role is read at login, so the admin signs in again after being promoted. */
async function adminSession(username: string): Promise<string> {
  await signUp(srv.url, username);
  await srv.users.updateLatest((await account(username))!.id, () => ({ role: 'admin' }));
  const res = await request(`${srv.url}/trpc/auth.login`, { body: { username, password } });
  expect(res.status).toBe(200);
  return sessionCookie(res);
}

describe('admin procedures from an admin session older than the fresh-login window', () => {
  let admin: string;
  beforeAll(async () => {
    admin = await adminSession('stale-admin');
    srv.clock.advance(FRESH_WINDOW_MS + 1_000);
  });

  it('admin.revokeUserSessions is 412 FRESH_LOGIN_REQUIRED and the user’s sessions stay live', async () => {
    const target = await signUp(srv.url, 'stale-revoke-target');
    expectFreshLoginRequired(await call('admin.revokeUserSessions', admin, { username: 'stale-revoke-target' }));
    expect(await dataStatus(target)).toBe(200);
  });

  it('admin.setRole is 412 FRESH_LOGIN_REQUIRED, the role stays and the user’s sessions stay live', async () => {
    const target = await signUp(srv.url, 'stale-role-target');
    expectFreshLoginRequired(await call('admin.setRole', admin, { username: 'stale-role-target', role: 'admin' }));
    expect((await account('stale-role-target'))!.role).toBe('user');
    expect(await dataStatus(target)).toBe(200);
  });

  it('admin.disableUser is 412 FRESH_LOGIN_REQUIRED, the account stays enabled and its sessions live', async () => {
    const target = await signUp(srv.url, 'stale-disable-target');
    expectFreshLoginRequired(await call('admin.disableUser', admin, { username: 'stale-disable-target' }));
    expect((await account('stale-disable-target'))!.disabled).toBe(false);
    expect(await dataStatus(target)).toBe(200);
    expect(await loginStatus('stale-disable-target', password)).toBe(200);
  });

  it('admin.enableUser is 412 FRESH_LOGIN_REQUIRED and a disabled account stays disabled', async () => {
    await signUp(srv.url, 'stale-enable-target');
    await srv.users.updateLatest((await account('stale-enable-target'))!.id, () => ({ disabled: true }));
    expectFreshLoginRequired(await call('admin.enableUser', admin, { username: 'stale-enable-target' }));
    expect((await account('stale-enable-target'))!.disabled).toBe(true);
    expect(await loginStatus('stale-enable-target', password)).toBe(401);
  });

  it('admin.deleteUser is 412 FRESH_LOGIN_REQUIRED, the account stays and its sessions live', async () => {
    const target = await signUp(srv.url, 'stale-delete-target');
    expectFreshLoginRequired(await call('admin.deleteUser', admin, { username: 'stale-delete-target' }));
    expect(await account('stale-delete-target')).toBeDefined();
    expect(await dataStatus(target)).toBe(200);
  });

  it('the same admin, re-authenticated, gets 200 from each of them: only the stale login stood in the way', async () => {
    const renewed = await call('auth.reauthenticate', admin, { password });
    expect(renewed.status).toBe(200);
    const fresh = sessionCookie(renewed);
    const target = 'stale-control-target';
    await signUp(srv.url, target);
    expect((await call('admin.revokeUserSessions', fresh, { username: target })).status).toBe(200);
    expect((await call('admin.setRole', fresh, { username: target, role: 'admin' })).status).toBe(200);
    expect((await call('admin.disableUser', fresh, { username: target })).status).toBe(200);
    expect((await call('admin.enableUser', fresh, { username: target })).status).toBe(200);
    expect((await call('admin.deleteUser', fresh, { username: target })).status).toBe(200);
    expect(await account(target)).toBeUndefined();
  });
});

describe('auth.changePassword from a session older than the fresh-login window', () => {
  it('is 412 FRESH_LOGIN_REQUIRED, with the right current password: the old password still works, the new one does not, and no session ends', async () => {
    const cookie = await signUp(srv.url, 'stale-changer');
    const other = sessionCookie(await request(`${srv.url}/trpc/auth.login`, { body: { username: 'stale-changer', password } }));
    srv.clock.advance(FRESH_WINDOW_MS + 1_000);
    const newPassword = 'a brand new password';
    expectFreshLoginRequired(await call('auth.changePassword', cookie, { currentPassword: password, newPassword }));
    expect(await dataStatus(cookie)).toBe(200);
    expect(await dataStatus(other)).toBe(200);
    expect(await loginStatus('stale-changer', newPassword)).toBe(401);
    expect(await loginStatus('stale-changer', password)).toBe(200);
  });
});
