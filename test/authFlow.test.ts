import type { AppRouter } from '../server/reference/router.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRPCClientError, createNodeClient } from '../client/node.js';
import { parseSetCookie, request, sessionCookie } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(() => srv.close());

const password = 'correct horse battery';

async function statusOf(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (error instanceof TRPCClientError) return (error.data as { httpStatus?: number } | undefined)?.httpStatus;
    throw error;
  }
}

describe('the typed client over real HTTP', () => {
  it('registers, logs out, logs in, reads me and data, logs out, and is then refused with 401', async () => {
    const { api } = createNodeClient<AppRouter>({ url: srv.url });
    const registered = await api.auth.register.mutate({ username: 'Flow.User', password });
    expect(registered.user).toMatchObject({ username: 'flow.user', role: 'user' });
    expect(await api.auth.logout.mutate()).toEqual({ loggedOut: true });
    expect(await api.auth.me.query()).toBeNull();

    const loggedIn = await api.auth.login.mutate({ username: 'FLOW.USER', password });
    expect(loggedIn.user.id).toBe(registered.user.id);
    const me = await api.auth.me.query();
    expect(me?.user.username).toBe('flow.user');
    expect(me?.session.current).toBe(true);
    expect(new Date(me!.session.expiresAt).getTime()).toBeGreaterThan(Date.now());

    const data = await api.data.query();
    expect(data.user.username).toBe('flow.user');
    expect(data.message).toContain('flow.user');

    expect(await api.auth.logout.mutate()).toEqual({ loggedOut: true });
    expect(await statusOf(api.data.query())).toBe(401);
    // Idempotent: a second logout is fine and reports that there was nothing to end.
    expect(await api.auth.logout.mutate()).toEqual({ loggedOut: false });
  });

  it('answers a wrong password and an unknown user with the same 401 body', async () => {
    const { api } = createNodeClient<AppRouter>({ url: srv.url });
    await api.auth.register.mutate({ username: 'same-answer', password });
    const wrong = await request(`${srv.url}/trpc/auth.login`, { body: { username: 'same-answer', password: 'not the password' } });
    const unknown = await request(`${srv.url}/trpc/auth.login`, { body: { username: 'nobody-here', password: 'not the password' } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const strip = (json: unknown) => {
      const copy = structuredClone(json) as { error: { data: { requestId?: string } } };
      delete copy.error.data.requestId;
      return copy;
    };
    expect(strip(wrong.json)).toEqual(strip(unknown.json));
    expect(wrong.setCookies).toEqual([]);
  });

  it('refuses a second account with the same name in any case with 409 CONFLICT', async () => {
    const { api } = createNodeClient<AppRouter>({ url: srv.url });
    await api.auth.register.mutate({ username: 'taken', password });
    const again = await request(`${srv.url}/trpc/auth.register`, { body: { username: 'TAKEN', password } });
    expect(again.status).toBe(409);
    expect(again.setCookies).toEqual([]);
  });
});

describe('the session cookie on the wire', () => {
  it('login sets the session cookie: sid, HttpOnly, SameSite=Lax, Path=/, no Domain, no Secure in development, expiring with the absolute timeout', async () => {
    await request(`${srv.url}/trpc/auth.register`, { body: { username: 'cookie-attrs', password } });
    const login = await request(`${srv.url}/trpc/auth.login`, { body: { username: 'cookie-attrs', password } });
    expect(login.status).toBe(200);
    expect(login.setCookies.map((line) => parseSetCookie(line).name)).toEqual(['sid', 'sid-device']);
    const cookie = parseSetCookie(login.setCookies[0]!);
    expect(cookie.name).toBe('sid');
    expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    expect([...cookie.attributes.keys()].sort()).toEqual(['expires', 'httponly', 'path', 'samesite']);
    expect(cookie.attributes.get('path')).toBe('/');
    expect(cookie.attributes.get('samesite')).toBe('lax');
    const expires = new Date(cookie.attributes.get('expires')!).getTime();
    expect(Math.abs(expires - (srv.clock.now() + (srv.config.gatehouse.absoluteTimeout as number)))).toBeLessThan(5_000);
    expect(login.headers.get('cache-control')).toBe('no-store');
    expect(login.body.length).toBeLessThan(4096);
  });

  it('and the known-browser cookie (the login throttle’s hint): sid-device, a marker for this account, HttpOnly, SameSite=Lax, Path=/, no Domain, 180 days; never set by a failed login', async () => {
    await request(`${srv.url}/trpc/auth.register`, { body: { username: 'device-attrs', password } });
    const failed = await request(`${srv.url}/trpc/auth.login`, { body: { username: 'device-attrs', password: 'not the password' } });
    expect(failed.status).toBe(401);
    expect(failed.setCookies).toEqual([]);
    const login = await request(`${srv.url}/trpc/auth.login`, { body: { username: 'device-attrs', password } });
    const device = parseSetCookie(login.setCookies.find((line) => line.startsWith('sid-device='))!);
    expect(device.value).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/);
    expect([...device.attributes.keys()].sort()).toEqual(['expires', 'httponly', 'path', 'samesite']);
    expect(device.attributes.get('path')).toBe('/');
    expect(device.attributes.get('samesite')).toBe('lax');
    const expires = new Date(device.attributes.get('expires')!).getTime();
    expect(Math.abs(expires - (Date.now() + 180 * 24 * 3_600_000))).toBeLessThan(60_000);
  });

  it('logout clears the cookie with a past expiry and sends Clear-Site-Data; the old cookie then gets 401', async () => {
    const login = await request(`${srv.url}/trpc/auth.register`, { body: { username: 'cookie-clear', password } });
    const cookie = sessionCookie(login);
    const logout = await request(`${srv.url}/trpc/auth.logout`, { method: 'POST', cookie, body: '' });
    expect(logout.status).toBe(200);
    expect(logout.setCookies).toHaveLength(1);
    const cleared = parseSetCookie(logout.setCookies[0]!);
    expect(cleared.name).toBe('sid');
    expect(cleared.value).toBe('');
    expect(new Date(cleared.attributes.get('expires')!).getTime()).toBeLessThanOrEqual(0);
    expect(cleared.attributes.get('path')).toBe('/');
    expect(logout.headers.get('clear-site-data')).toBe('"cookies"');
    const replay = await request(`${srv.url}/trpc/data`, { cookie });
    expect(replay.status).toBe(401);
  });

  it('a plain read with a fresh session writes no cookie and no store entry', async () => {
    const cookie = sessionCookie(await request(`${srv.url}/trpc/auth.register`, { body: { username: 'no-write', password } }));
    const read = await request(`${srv.url}/trpc/data`, { cookie });
    expect(read.status).toBe(200);
    expect(read.setCookies).toEqual([]);
    const anonymous = await request(`${srv.url}/trpc/auth.me`);
    expect(anonymous.status).toBe(200);
    expect(anonymous.setCookies).toEqual([]);
  });
});

describe('GET /healthz', () => {
  it('answers 200 with the store kind while the store answers', async () => {
    const res = await request(`${srv.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok', store: 'memory' });
  });
});
