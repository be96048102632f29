import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, sessionCookie } from './helpers/http.js';
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
