import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieSigner } from '../server/session/cookieSigner.js';
import { newSessionId } from '../server/session/sessionId.js';
import { freePort } from './helpers/freePort.js';
import { errorCode, request, type RawResponse, signUp } from './helpers/http.js';
import { PrivateRedis } from './helpers/privateRedis.js';
import { startServer, TEST_KEY, type TestServer } from './helpers/server.js';

// Small, so a frozen store costs each request 300 ms; the test timeout catches a hang.
const STORE_TIMEOUT = '300ms';
const password = 'correct horse battery';

function expect503(res: RawResponse, what: string): void {
  expect(res.status, what).toBe(503);
  expect(errorCode(res), what).toBe('SERVICE_UNAVAILABLE');
  expect(res.headers.get('retry-after'), what).toBe('1');
  expect((res.json as { error: { message: string } }).error.message, what).toBe(
    'The session store is unavailable. Try again in a moment.',
  );
  // Nothing that looks like success: no session cookie set or cleared.
  expect(res.setCookies, what).toEqual([]);
  expect(res.headers.get('clear-site-data'), what).toBeNull();
}

/** `data`, `auth.me`, login, logout and /healthz with `cookie`: every one must be a 503. */
async function expectEverythingUnavailable(url: string, cookie: string, username: string): Promise<void> {
  expect503(await request(`${url}/trpc/data`, { cookie }), 'data');
  expect503(await request(`${url}/trpc/auth.me`, { cookie }), 'auth.me');
  expect503(await request(`${url}/trpc/auth.login`, { body: { username, password } }), 'login');
  expect503(await request(`${url}/trpc/auth.logout`, { cookie, body: {} }), 'logout');
  const health = await request(`${url}/healthz`);
  expect(health.status).toBe(503);
  expect((health.json as { status: string }).status).toBe('unavailable');
}

/** Bounded wait for the client's background reconnect. */
async function untilHealthy(url: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if ((await request(`${url}/healthz`)).status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('store never came back');
}

describe('a private Redis that goes away', () => {
  let redis: PrivateRedis;
  let srv: TestServer;
  let cookie: string;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    srv = await startServer({ env: { SESSION_STORE_URL: redis.url, SESSION_STORE_TIMEOUT: STORE_TIMEOUT } });
    cookie = await signUp(srv.url, 'outage-user');
  });
  afterAll(async () => {
    await redis.destroy();
    await srv.close();
  });

  it('frozen (SIGSTOP): data, me, login, logout and /healthz answer 503; after SIGCONT the same cookie works', async () => {
    redis.freeze();
    try {
      await expectEverythingUnavailable(srv.url, cookie, 'outage-user');
    } finally {
      redis.thaw();
    }
    await untilHealthy(srv.url);
    const data = await request(`${srv.url}/trpc/data`, { cookie });
    expect(data.status).toBe(200);
    expect((await request(`${srv.url}/trpc/auth.login`, { body: { username: 'outage-user', password } })).status).toBe(200);
  });

  it('stopped: every call answers 503; restarted on the same port, the same cookie works without restarting Gatehouse', async () => {
    await redis.stop();
    await expectEverythingUnavailable(srv.url, cookie, 'outage-user');
    await redis.restart();
    await untilHealthy(srv.url);
    expect((await request(`${srv.url}/trpc/data`, { cookie })).status).toBe(200);
    expect((await request(`${srv.url}/trpc/auth.me`, { cookie })).status).toBe(200);
  });
});

describe('a store that was never reachable', () => {
  const signedCookie = `sid=${new CookieSigner([TEST_KEY]).sign(newSessionId())}`;

  for (const [kind, urlOf] of [
    ['Redis', (port: number) => `redis://127.0.0.1:${port}`],
    ['PostgreSQL', (port: number) => `postgres://postgres@127.0.0.1:${port}/test`],
  ] as const) {
    it(`${kind} on a closed port: Gatehouse starts, and data, me, login, logout and /healthz answer 503`, async () => {
      const srv = await startServer({ env: { SESSION_STORE_URL: urlOf(await freePort()), SESSION_STORE_TIMEOUT: STORE_TIMEOUT } });
      try {
        await expectEverythingUnavailable(srv.url, signedCookie, 'nobody-home');
      } finally {
        await srv.close();
      }
    });
  }
});
