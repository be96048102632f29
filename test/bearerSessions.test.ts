import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBearerClient, memoryTokenStore } from '../client/bearer.js';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import type { AppRouter } from '../server/reference/router.js';
import { errorCode, type RawResponse, request, sessionCookie } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';
import { describeEachBackend } from './helpers/backends.js';

/**
 * SECURITY.md B1, attack 36: bearer sessions for clients with no cookie jar
 * (native apps, CLIs), over real HTTP — the same sessions as cookies,
 * carried in `Authorization: Bearer`. No request here keeps a cookie jar.
 */
const PASSWORD = 'correct horse battery';

/** The store, counting the session lookups (a refused token must cost none). */
function counting(store: KeyValueStore) {
  const counts = { sessionReads: 0 };
  const wrapped = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (property === 'get' && String(args[0]).startsWith('s:')) counts.sessionReads += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, counts };
}

let srv: TestServer;
let counts: { sessionReads: number };

let users = 0;
async function signedUp(): Promise<string> {
  users += 1;
  const username = `bearer-${users}`;
  expect((await request(`${srv.url}/trpc/auth.register`, { body: { username, password: PASSWORD } })).status).toBe(200);
  return username;
}
const asBearer = (token?: string, headers: Record<string, string> = {}) => ({ 'gatehouse-session': 'bearer', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers });
async function bearerLogin(username: string): Promise<{ res: RawResponse; token: string }> {
  const res = await request(`${srv.url}/trpc/auth.login`, { body: { username, password: PASSWORD }, headers: asBearer() });
  expect(res.status).toBe(200);
  return { res, token: (res.json as { result: { data: { token: string } } }).result.data.token };
}
const data = (token?: string, headers: Record<string, string> = {}) => request(`${srv.url}/trpc/data`, { headers: asBearer(token, headers) });
const cookieLogin = async (username: string) => sessionCookie(await request(`${srv.url}/trpc/auth.login`, { body: { username, password: PASSWORD } }));

describeEachBackend('bearer sessions', (backendOf) => {
  beforeAll(async () => {
    const counted = counting(await backendOf().open());
    counts = counted.counts;
    srv = await startServer({ env: { SESSION_MAX_PER_USER: '3' }, deps: { bearer: true, store: counted.store } });
  });
  afterAll(() => srv.close());

  describe('signing in as a bearer client', () => {
    it('the answer hands the token over in its body and the Gatehouse-Session-Token header, and sets no cookie', async () => {
      const { res, token } = await bearerLogin(await signedUp());
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
      expect(res.headers.get('gatehouse-session-token')).toBe(token);
      expect(res.setCookies).toEqual([]);
      expect((await data(token)).status).toBe(200);
    });

    it('registration and re-authentication hand tokens over the same way', async () => {
      users += 1;
      const registered = await request(`${srv.url}/trpc/auth.register`, { body: { username: `bearer-${users}`, password: PASSWORD }, headers: asBearer() });
      const token = (registered.json as { result: { data: { token: string } } }).result.data.token;
      expect(registered.setCookies).toEqual([]);
      expect((await data(token)).status).toBe(200);
      const renewed = await request(`${srv.url}/trpc/auth.reauthenticate`, { body: { password: PASSWORD }, headers: asBearer(token) });
      expect(renewed.status).toBe(200);
      const next = (renewed.json as { result: { data: { token: string } } }).result.data.token;
      expect(renewed.headers.get('gatehouse-session-token')).toBe(next);
      expect(next).not.toBe(token);
    });
  });

  describe('401s follow RFC 6750 §3.1', () => {
    it('no token: WWW-Authenticate: Bearer, no error code', async () => {
      const res = await data();
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('a tampered or oversized token: 401 invalid_token, without a store lookup', async () => {
      const { token } = await bearerLogin(await signedUp());
      for (const bad of [`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`, `${token}${'x'.repeat(200)}`, token.split('.')[0]!, 'not-a-token']) {
        const before = counts.sessionReads;
        const res = await data(bad);
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
        expect(counts.sessionReads).toBe(before);
      }
    });

    it('an ended token: 401 invalid_token (logout answers Gatehouse-Session-Token: ended)', async () => {
      const { token } = await bearerLogin(await signedUp());
      const logout = await request(`${srv.url}/trpc/auth.logout`, { body: {}, headers: asBearer(token) });
      expect(logout.json).toEqual({ result: { data: { loggedOut: true } } });
      expect(logout.headers.get('gatehouse-session-token')).toBe('ended');
      expect(logout.setCookies).toEqual([]);
      const res = await data(token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    });
  });

  describe('one session, one carrier', () => {
    it('a bearer session’s token sent as a cookie is no session, and a cookie session’s id sent as a token is none either', async () => {
      const username = await signedUp();
      const { token } = await bearerLogin(username);
      expect((await request(`${srv.url}/trpc/data`, { cookie: `sid=${token}` })).status).toBe(401);
      const cookie = await cookieLogin(username);
      const value = cookie.slice('sid='.length);
      const res = await data(value);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      // Both still work on their own carrier.
      expect((await data(token)).status).toBe(200);
      expect((await request(`${srv.url}/trpc/data`, { cookie })).status).toBe(200);
    });

    it('both a cookie and a token in one request: 400 invalid_request, neither taken', async () => {
      const username = await signedUp();
      const { token } = await bearerLogin(username);
      const cookie = await cookieLogin(username);
      const res = await request(`${srv.url}/trpc/data`, { cookie, headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(400);
      expect(errorCode(res)).toBe('BAD_REQUEST');
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_request"');
    });

    it('a token in the URL (access_token) is refused with 400, and so are tRPC’s connectionParams', async () => {
      const { token } = await bearerLogin(await signedUp());
      const inQuery = await request(`${srv.url}/trpc/data?access_token=${encodeURIComponent(token)}`);
      expect(inQuery.status).toBe(400);
      expect(inQuery.headers.get('www-authenticate')).toBe('Bearer error="invalid_request"');
      const params = await request(`${srv.url}/trpc/data?connectionParams=${encodeURIComponent(JSON.stringify({ token }))}`, { headers: asBearer(token) });
      expect(params.status).toBe(400);
    });
  });

  describe('the same lifecycle as a cookie session', () => {
    it('a rotation hands the new token over, and the old one is 401 at once', async () => {
      const { token } = await bearerLogin(await signedUp());
      const renewed = await request(`${srv.url}/trpc/auth.reauthenticate`, { body: { password: PASSWORD }, headers: asBearer(token) });
      const next = renewed.headers.get('gatehouse-session-token')!;
      expect((await data(token)).status).toBe(401);
      expect((await data(next)).status).toBe(200);
    });

    it('a browser session of the same user lists it as a bearer session, and revoking it there ends it', async () => {
      const username = await signedUp();
      const { token } = await bearerLogin(username);
      const browser = await cookieLogin(username);
      const listed = ((await request(`${srv.url}/trpc/sessions.list`, { cookie: browser })).json as { result: { data: { id: string; carrier: string; current: boolean }[] } }).result.data;
      const bearerSession = listed.find((session) => session.carrier === 'bearer')!;
      expect(listed.filter((session) => session.carrier === 'cookie')).toHaveLength(2);
      expect(bearerSession.current).toBe(false);
      const revoked = await request(`${srv.url}/trpc/sessions.revoke`, { cookie: browser, body: { id: bearerSession.id } });
      expect(revoked.status).toBe(200);
      expect((await data(token)).status).toBe(401);
    });

    it('a password change in a browser ends the bearer session', async () => {
      const username = await signedUp();
      const { token } = await bearerLogin(username);
      const browser = await cookieLogin(username);
      const changed = await request(`${srv.url}/trpc/auth.changePassword`, { cookie: browser, body: { currentPassword: PASSWORD, newPassword: 'a brand new password' } });
      expect(changed.status).toBe(200);
      expect((await data(token)).status).toBe(401);
    });

    it('the per-user cap counts it (cap 3): three more sign-ins end it, the least recently used', async () => {
      const username = await signedUp();
      srv.clock.advance(1_000);
      const { token } = await bearerLogin(username);
      for (let i = 0; i < 3; i += 1) {
        srv.clock.advance(1_000);
        await cookieLogin(username);
      }
      expect((await data(token)).status).toBe(401);
    });

    it('the CSRF guard’s rules for cookies do not apply: a native shell’s Origin (tauri://localhost, null) is served; a cookie request from there is 403', async () => {
      const username = await signedUp();
      let { token } = await bearerLogin(username);
      for (const origin of ['tauri://localhost', 'null']) {
        const res = await request(`${srv.url}/trpc/auth.reauthenticate`, { body: { password: PASSWORD }, headers: asBearer(token, { origin }) });
        expect(res.status).toBe(200);
        token = res.headers.get('gatehouse-session-token')!;
        expect((await data(token)).status).toBe(200);
        const browser = await cookieLogin(username);
        expect((await request(`${srv.url}/trpc/auth.logout`, { cookie: browser, body: {}, headers: { origin } })).status).toBe(403);
      }
    });
  });

  describe('the typed bearer client (no cookie jar)', () => {
    it('signs in, reads, takes the rotated token, forgets it at logout', async () => {
      const username = await signedUp();
      const tokens = memoryTokenStore();
      const { api } = createBearerClient<AppRouter>({ url: srv.url, tokens });
      await api.auth.login.mutate({ username, password: PASSWORD });
      const first = await tokens.get('session');
      expect(first).toBeDefined();
      expect((await api.data.query()).user.username).toBe(username);
      await api.auth.reauthenticate.mutate({ password: PASSWORD });
      const second = await tokens.get('session');
      expect(second).not.toBe(first);
      expect((await data(first)).status).toBe(401);
      expect((await api.data.query()).user.username).toBe(username);
      expect(await api.auth.logout.mutate()).toEqual({ loggedOut: true });
      expect(await tokens.get('session')).toBeUndefined();
      await expect(api.data.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    });

    it('a slow request’s 401 for the old token does not throw away the new one', async () => {
      const username = await signedUp();
      const tokens = memoryTokenStore();
      const { api } = createBearerClient<AppRouter>({ url: srv.url, tokens });
      await api.auth.login.mutate({ username, password: PASSWORD });
      const old = (await tokens.get('session'))!;
      // Another tab's rotation lands first; then the answer to a request that carried the old token arrives: 401.
      const renewed = await request(`${srv.url}/trpc/auth.reauthenticate`, { body: { password: PASSWORD }, headers: asBearer(old) });
      const fresh = renewed.headers.get('gatehouse-session-token')!;
      await tokens.set('session', fresh);
      // The slow request was sent with the old token (read once, before the rotation), and answers after it.
      let sentOld = false;
      const { api: slow } = createBearerClient<AppRouter>({
        url: srv.url,
        tokens: { ...tokens, get: (name) => (name === 'session' && !sentOld ? ((sentOld = true), old) : tokens.get(name)) },
      });
      await expect(slow.data.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
      expect(await tokens.get('session')).toBe(fresh);
      expect((await api.data.query()).user.username).toBe(username);
    });
  });
});
