import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, request, type RawResponse, signUp } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';
import { TcpProxy } from './helpers/tcpProxy.js';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl && process.env.CI) throw new Error('DATABASE_URL must be set in CI: the PostgreSQL outage suite may not skip');
if (!databaseUrl) console.warn('\n!!! DATABASE_URL is not set: SKIPPING the PostgreSQL outage tests\n');

const password = 'correct horse battery';

function expect503(res: RawResponse, what: string): void {
  expect(res.status, what).toBe(503);
  expect(errorCode(res), what).toBe('SERVICE_UNAVAILABLE');
  expect(res.headers.get('retry-after'), what).toBe('1');
  expect(res.setCookies, what).toEqual([]);
  expect(res.body, what).not.toMatch(/127\.0\.0\.1|ECONN|postgres/i);
}

async function expectEverythingUnavailable(url: string, cookie: string, username: string): Promise<void> {
  expect503(await request(`${url}/trpc/data`, { cookie }), 'data');
  expect503(await request(`${url}/trpc/auth.me`, { cookie }), 'auth.me');
  expect503(await request(`${url}/trpc/auth.login`, { body: { username, password } }), 'login');
  expect503(await request(`${url}/trpc/auth.logout`, { cookie, body: {} }), 'logout');
  expect((await request(`${url}/healthz`)).status).toBe(503);
}

async function untilData200(url: string, cookie: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if ((await request(`${url}/trpc/data`, { cookie })).status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the store never came back');
}

describe.skipIf(!databaseUrl)('PostgreSQL behind a proxy that freezes and stops (the shared server is never touched)', () => {
  let proxy: TcpProxy;
  let srv: TestServer;
  let cookie: string;
  beforeAll(async () => {
    const target = new URL(databaseUrl!);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(databaseUrl!);
    viaProxy.port = String(proxy.port);
    srv = await startServer({
      env: {
        SESSION_STORE_URL: viaProxy.toString(),
        SESSION_STORE_TIMEOUT: '500ms',
        SESSION_STORE_NAMESPACE: `pg-outage-${process.pid}-${Date.now()}`,
      },
    });
    cookie = await signUp(srv.url, 'pg-outage');
  });
  afterAll(async () => {
    await srv.close();
    await proxy.stop();
  });

  it('frozen: data, me, login, logout and /healthz answer 503 instead of hanging; thawed, the same cookie works', async () => {
    expect((await request(`${srv.url}/trpc/data`, { cookie })).status).toBe(200);
    proxy.freeze();
    try {
      await expectEverythingUnavailable(srv.url, cookie, 'pg-outage');
    } finally {
      proxy.thaw();
    }
    await untilData200(srv.url, cookie);
  });

  it('stopped: every call answers 503; back on the same port, the same cookie works without restarting Gatehouse', async () => {
    await proxy.stop();
    await expectEverythingUnavailable(srv.url, cookie, 'pg-outage');
    await proxy.listen();
    await untilData200(srv.url, cookie);
    expect((await request(`${srv.url}/trpc/auth.login`, { body: { username: 'pg-outage', password } })).status).toBe(200);
  });
});
