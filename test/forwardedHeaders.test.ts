import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, createLogger, type Gatehouse, gatehouseRoutes, router } from '../server/index.js';
import { ManualClock } from './helpers/clock.js';
import { errorCode, request, type RawResponse, sessionCookie } from './helpers/http.js';
import { startServer, TEST_KEY, type TestServer } from './helpers/server.js';

// D1: behind the one trusted proxy, only the value that proxy appended (the last) of X-Forwarded-Proto, -Host and -For counts.
const password = 'correct horse battery';
let srv: TestServer;
let user = 0;
const freshUser = () => `fwd-${(user += 1)}`;

beforeAll(async () => {
  srv = await startServer({ env: { NODE_ENV: 'production', SESSION_KEYS: TEST_KEY, TRUST_PROXY: '1', LOG_LEVEL: 'silent', REGISTER_MAX_PER_ADDRESS: '2' } });
});
afterAll(() => srv.close());

const register = (headers: Record<string, string>) => request(`${srv.url}/trpc/auth.register`, { body: { username: freshUser(), password }, headers });

describe('X-Forwarded-Proto with several values', () => {
  it('"https, http" (a client-supplied https before the proxy’s http) is refused with 403, no cookie, no account, no 500', async () => {
    const res = await register({ 'x-forwarded-proto': 'https, http' });
    expect(res.status).toBe(403);
    expect((res.json as { error: { message: string } }).error.message).toContain('HTTPS is required');
    expect(res.setCookies).toEqual([]);
  });

  it('"http, https" (the proxy appended https) is served over HTTPS: 200 with a Secure __Host- cookie', async () => {
    const res = await register({ 'x-forwarded-proto': 'http, https', 'x-forwarded-for': '198.51.100.7' });
    expect(res.status).toBe(200);
    expect(res.setCookies).toHaveLength(1);
    expect(res.setCookies[0]).toMatch(/^__Host-sid=[^;]+;.*; secure/i);
  });
});

describe('X-Forwarded-Host with several values (the origin check compares against it)', () => {
  const tls = { 'x-forwarded-proto': 'https' };

  it('the last host is the server’s own: an Origin naming it passes', async () => {
    const res = await register({ ...tls, 'x-forwarded-for': '198.51.100.8', 'x-forwarded-host': 'evil.example, app.example.com', origin: 'https://app.example.com' });
    expect(res.status).toBe(200);
  });

  it('a client-supplied first host does not count: an Origin naming it is 403', async () => {
    const res = await register({ ...tls, 'x-forwarded-host': 'evil.example, app.example.com', origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect((res.json as { error: { message: string } }).error.message).toContain('Cross-site request refused');
    expect(res.setCookies).toEqual([]);
  });

  it('a logout whose Origin matches only the spoofed first host is 403 and the session survives', async () => {
    const signedIn = await register({ ...tls, 'x-forwarded-for': '198.51.100.9', 'x-forwarded-host': 'app.example.com', origin: 'https://app.example.com' });
    const cookie = sessionCookie(signedIn, '__Host-sid');
    const logout = await request(`${srv.url}/trpc/auth.logout`, {
      cookie,
      body: {},
      headers: { ...tls, 'x-forwarded-host': 'evil.example, app.example.com', origin: 'https://evil.example' },
    });
    expect(logout.status).toBe(403);
    expect((await request(`${srv.url}/trpc/data`, { cookie, headers: tls })).status).toBe(200);
  });
});

describe('X-Forwarded-For with several values (the throttle counts per address)', () => {
  it('only the last address counts: prepended spoofed hops share one counter, and the third registration is 429', async () => {
    const tls = { 'x-forwarded-proto': 'https' };
    const proxySeen = '203.0.113.77';
    expect((await register({ ...tls, 'x-forwarded-for': `10.0.0.1, ${proxySeen}` })).status).toBe(200);
    expect((await register({ ...tls, 'x-forwarded-for': `10.0.0.2, ${proxySeen}` })).status).toBe(200);
    const third = await register({ ...tls, 'x-forwarded-for': `10.0.0.3, ${proxySeen}` });
    expect(third.status).toBe(429);
    // A different last hop is a different client.
    expect((await register({ ...tls, 'x-forwarded-for': `${proxySeen}, 203.0.113.78` })).status).toBe(200);
  });
});

// Issue 18 §5, item 4: Koa's `app.proxy` is the host's setting, for its own routes. Gatehouse reads forwarded
// headers only with its own trustProxy; a host that turned app.proxy on must not hand the client's own
// X-Forwarded-For to the throttle (ctx.ip is then its first value, whatever the client wrote).
describe('a host app with app.proxy = true and Gatehouse’s trustProxy off', () => {
  let host: { url: string; gatehouse: Gatehouse; close(): Promise<void> };
  beforeAll(async () => {
    const gatehouse = await createGatehouse({
      keys: [TEST_KEY],
      cookie: { secure: false },
      logger: createLogger('silent'),
      clock: new ManualClock(),
      throttle: { perAccount: 1_000, perAddress: 3, registerPerAddress: 2, window: '15m' },
    });
    const app = new Koa();
    app.proxy = true;
    app.silent = true;
    app.use(gatehouse.session());
    app.use(gatehouse.trpc({ router: router({ ...gatehouseRoutes }) }));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    host = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      gatehouse,
      async close() {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        await gatehouse.close();
      },
    };
  });
  afterAll(() => host.close());

  let spoofed = 0;
  /** A different client-written X-Forwarded-For on every call. */
  const rotating = () => ({ 'x-forwarded-for': `198.51.100.${(spoofed += 1)}` });
  const register = (username: string, headers: Record<string, string> = {}) =>
    request(`${host.url}/trpc/auth.register`, { body: { username, password }, headers });
  const login = (username: string, pass: string, headers: Record<string, string> = {}) =>
    request(`${host.url}/trpc/auth.login`, { body: { username, password: pass }, headers });

  function expectThrottled(res: RawResponse, seconds: number) {
    expect(res.status).toBe(429);
    expect(errorCode(res)).toBe('TOO_MANY_REQUESTS');
    expect(res.headers.get('retry-after')).toBe(String(seconds));
    expect(res.setCookies).toEqual([]);
  }

  it('a new X-Forwarded-For on every registration does not reset the per-address limit: the 3rd is 429, and so is one without the header (the socket address was counted)', async () => {
    expect((await register('proxy-host-0', rotating())).status).toBe(200);
    expect((await register('proxy-host-1', rotating())).status).toBe(200);
    expectThrottled(await register('proxy-host-2', rotating()), 900);
    expectThrottled(await register('proxy-host-3'), 900);
  });

  it('a new X-Forwarded-For on every failed login does not reset the per-address limit: after 3 failures even the right password is 429, with or without the header', async () => {
    for (let i = 0; i < 3; i += 1) expect((await login(`proxy-sprayed-${i}`, 'not the password!', rotating())).status).toBe(401);
    expectThrottled(await login('proxy-host-0', password, rotating()), 60);
    expectThrottled(await login('proxy-host-0', password), 60);
  });
});
