import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeClient } from '../client/node.js';
import { errorCode, request, signUp } from './helpers/http.js';
import { PrivateRedis } from './helpers/privateRedis.js';
import { startServer, type TestServer } from './helpers/server.js';

let redis: PrivateRedis;
let srv: TestServer;
beforeAll(async () => {
  redis = await PrivateRedis.start();
  srv = await startServer({ env: { SESSION_STORE_URL: redis.url, SESSION_STORE_TIMEOUT: '300ms' } });
});
afterAll(async () => {
  await srv.close();
  await redis.stop();
});

describe('when the store goes down and comes back', () => {
  it('answers 503 SERVICE_UNAVAILABLE (never a silent logout or a fake success), and recovers without a restart', async () => {
    const cookie = await signUp(srv.url, 'outage-user');
    expect((await request(`${srv.url}/trpc/data`, { cookie })).status).toBe(200);

    await redis.stop();
    const data = await request(`${srv.url}/trpc/data`, { cookie });
    expect(data.status).toBe(503);
    expect(errorCode(data)).toBe('SERVICE_UNAVAILABLE');
    expect(data.body).not.toContain('127.0.0.1');
    expect(data.body).not.toContain('ECONNREFUSED');
    const me = await request(`${srv.url}/trpc/auth.me`, { cookie });
    expect(me.status).toBe(503);
    const login = await request(`${srv.url}/trpc/auth.login`, { body: { username: 'outage-user', password: 'correct horse battery' } });
    expect(login.status).toBe(503);
    expect(login.setCookies).toEqual([]);
    const logout = await request(`${srv.url}/trpc/auth.logout`, { method: 'POST', cookie, body: '' });
    expect(logout.status).toBe(503);
    expect(logout.setCookies).toEqual([]);
    expect((await request(`${srv.url}/healthz`)).status).toBe(503);

    await redis.startProcess(); // same port, empty data: the account is gone with it
    const { api } = createNodeClient({ url: srv.url });
    await expect.poll(async () => (await request(`${srv.url}/healthz`)).status, { timeout: 10_000 }).toBe(200);
    await api.auth.register.mutate({ username: 'after-outage', password: 'correct horse battery' });
    expect((await api.data.query()).user.username).toBe('after-outage');
  });

  it('a frozen store (SIGSTOP) answers 503 instead of hanging, and thawing brings the session back', async () => {
    const cookie = await signUp(srv.url, 'frozen-user');
    redis.freeze();
    try {
      const data = await request(`${srv.url}/trpc/data`, { cookie });
      expect(data.status).toBe(503);
      expect(errorCode(data)).toBe('SERVICE_UNAVAILABLE');
    } finally {
      redis.thaw();
    }
    await expect.poll(async () => (await request(`${srv.url}/trpc/data`, { cookie })).status, { timeout: 10_000 }).toBe(200);
  });
});
