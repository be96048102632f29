import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorMessages } from '../shared/errors.js';
import { createGatehouse } from '../server/gatehouse.js';
import { referenceRoutes as gatehouseRoutes } from '../server/reference/router.js';
import { publicProcedure, router } from '../server/trpc/init.js';
import { captureLogs } from './helpers/logCapture.js';
import { request, type RawResponse } from './helpers/http.js';
import { startServer, TEST_KEY, testConfig, type TestServer } from './helpers/server.js';
import { switchableStore } from './helpers/switchableStore.js';

// Threat: unexpected errors leak internals (DESIGN.md trap 8). In production the body is generic; the log has the detail.
const INTERNAL = 'connect ECONNREFUSED 10.0.0.5:6379 at /srv/app/x.ts';
const PRODUCTION = { NODE_ENV: 'production', TRUST_PROXY: '1', SESSION_KEYS: TEST_KEY };
const TLS = { 'x-forwarded-proto': 'https' };

const leakyRouter = router({
  ...gatehouseRoutes,
  brokenQuery: publicProcedure.query((): string => {
    throw new Error(INTERNAL);
  }),
  brokenMutation: publicProcedure.mutation((): string => {
    throw Object.assign(new TypeError(INTERNAL), { code: 'ECONNREFUSED', address: '10.0.0.5', port: 6379 });
  }),
});

const logs = captureLogs('info');
let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ env: PRODUCTION, router: leakyRouter, deps: { logger: logs.logger } });
});
afterAll(() => srv.close());

/** The leak markers: the internal message, the store address, a file path, a stack frame. */
function expectNoLeak(res: RawResponse) {
  for (const marker of ['ECONNREFUSED', '10.0.0.5', '6379', '/srv/', 'x.ts', 'stack', 'TypeError', 'node_modules']) {
    expect(res.body).not.toContain(marker);
  }
  // A stack frame: "at fn (file:line:col)".
  expect(res.body).not.toMatch(/\bat \S+.*:\d+:\d+/);
}

function expectGenericBodyAndLoggedDetail(res: RawResponse) {
  expect(res.status).toBe(500);
  const requestId = res.headers.get('x-request-id');
  expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
  expect(res.json).toEqual({
    error: { message: errorMessages.internal, code: -32603, data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500, requestId } },
  });
  expectNoLeak(res);
  const logged = logs.entries().filter((entry) => entry.requestId === requestId && entry.level === 50);
  expect(logged).toHaveLength(1);
  expect(JSON.stringify(logged[0])).toContain(INTERNAL);
  expect((logged[0]!.err as { stack?: string }).stack).toContain('at ');
}

describe('an unexpected error in production', () => {
  it('a query that throws answers 500 with only the generic message and the request id; the log has the detail under that id', async () => {
    expectGenericBodyAndLoggedDetail(await request(`${srv.url}/trpc/brokenQuery`, { headers: TLS }));
  });

  it('a mutation that throws a TypeError with network details answers the same generic 500', async () => {
    expectGenericBodyAndLoggedDetail(await request(`${srv.url}/trpc/brokenMutation`, { body: {}, headers: TLS }));
  });

  it('inside a batch, the broken call is masked and the sound call still answers', async () => {
    const res = await request(`${srv.url}/trpc/brokenQuery,auth.me?batch=1&input=${encodeURIComponent('{}')}`, { headers: TLS });
    expectNoLeak(res);
    const [broken, me] = res.json as [{ error: { message: string } }, { result: { data: unknown } }];
    expect(broken.error.message).toBe(errorMessages.internal);
    expect(me.result.data).toBeNull();
  });

  it('a host-app route that throws after the session layer gets a generic 500 from the error boundary, in Koa’s shape (plain text), logged with its request id', async () => {
    const capture = captureLogs('info');
    const gatehouse = await createGatehouse({ ...testConfig(PRODUCTION).gatehouse, logger: capture.logger });
    const app = new Koa();
    app.silent = true;
    // The host opted into Gatehouse's request id and error boundary for its whole app.
    app.use(gatehouse.requestId());
    app.use(gatehouse.errorBoundary());
    app.use(gatehouse.session());
    app.use(() => {
      throw new Error(INTERNAL);
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const res = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/anything`, { headers: TLS });
      expect(res.status).toBe(500);
      const requestId = res.headers.get('x-request-id');
      // Outside Gatehouse's tRPC prefix the host's routes answer as Koa does: the status and its name, as plain text.
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(res.body).toBe('Internal Server Error');
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      expectNoLeak(res);
      const logged = capture.entries().filter((entry) => entry.requestId === requestId && entry.level === 50);
      expect(JSON.stringify(logged)).toContain(INTERNAL);
    } finally {
      server.closeAllConnections();
      server.close();
      await gatehouse.close();
    }
  });

  it('bad input answers 400 naming the field, never the parser internals or a stack', async () => {
    const malformed = await request(`${srv.url}/trpc/auth.login`, { body: '{"username": ', headers: TLS });
    expect(malformed.status).toBe(400);
    expectNoLeak(malformed);
    const invalid = await request(`${srv.url}/trpc/auth.login`, { body: { username: 'x', password: 1 }, headers: TLS });
    expect(invalid.status).toBe(400);
    expect((invalid.json as { error: { data: { fieldErrors: Record<string, string[]> } } }).error.data.fieldErrors).toEqual({
      username: ['username must be at least 3 characters'],
      password: ['password must be a string'],
    });
    expectNoLeak(invalid);
  });

  it('plain HTTP in production is refused with 403 and no cookie, not a 500', async () => {
    const res = await request(`${srv.url}/trpc/auth.register`, { body: { username: 'plain-http', password: 'correct horse battery' } });
    expect(res.status).toBe(403);
    expect(res.setCookies).toEqual([]);
    expectNoLeak(res);
  });
});

describe('a store outage in production', () => {
  it('answers 503 with the generic store message and the request id, never the backend address; the log has the cause', async () => {
    const outage = await switchableStore();
    const capture = captureLogs('info');
    const prod = await startServer({ env: PRODUCTION, deps: { store: outage.store, logger: capture.logger } });
    try {
      const reg = await request(`${prod.url}/trpc/auth.register`, { body: { username: 'outage-prod', password: 'correct horse battery' }, headers: TLS });
      const cookie = reg.setCookies[0]!.split(';')[0]!;
      outage.down = true;
      for (const path of ['data', 'auth.me']) {
        const res = await request(`${prod.url}/trpc/${path}`, { cookie, headers: TLS });
        expect(res.status).toBe(503);
        const requestId = res.headers.get('x-request-id');
        expect((res.json as { error: { message: string; data: { code: string; requestId: string } } }).error).toMatchObject({
          message: errorMessages.storeUnavailable,
          data: { code: 'SERVICE_UNAVAILABLE', requestId },
        });
        expectNoLeak(res);
        const logged = capture.entries().filter((entry) => entry.requestId === requestId);
        expect(JSON.stringify(logged)).toContain('ECONNREFUSED 10.0.0.5:6379');
      }
    } finally {
      outage.down = false;
      await prod.close();
    }
  });
});
