import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorMessages } from '../shared/errors.js';
import { createGatehouse, type Gatehouse, gatehouseRoutes, router } from '../server/index.js';
import { captureLogs } from './helpers/logCapture.js';
import { request, type RawResponse, sessionCookie } from './helpers/http.js';
import { TEST_KEY } from './helpers/server.js';
import { type SwitchableStore, switchableStore } from './helpers/switchableStore.js';

// Issue 19, point 10: errorBoundary() mounted app-wide, as the README's step 4 shows. Under Gatehouse's tRPC
// prefix it answers in tRPC's shape (the typed client reads it); on the host's own REST routes it answers the
// way a Koa app does: the status, a plain-text safe message, and the request id (X-Request-Id).
const password = 'correct horse battery';
const SECRET = 'connect ECONNREFUSED 10.0.0.5:5432';
const logs = captureLogs('info');

let url: string;
let gatehouse: Gatehouse;
let outage: SwitchableStore;
let close: () => Promise<void>;

beforeAll(async () => {
  outage = await switchableStore();
  gatehouse = await createGatehouse({ keys: [TEST_KEY], store: outage.store, cookie: { secure: false }, logger: logs.logger });
  const app = new Koa();
  app.silent = true;
  // No requestId(): the boundary gives an error answer an id of its own.
  app.use(gatehouse.errorBoundary());
  app.use(bodyParser());
  app.use(gatehouse.session());
  app.use(gatehouse.trpc({ router: router(gatehouseRoutes), prefix: '/api/trpc' }));
  const routes = new Router();
  routes.post('/api/notes', (ctx) => {
    ctx.status = 201;
    ctx.body = { saved: ctx.request.body };
  });
  routes.get('/api/notes/:id', (ctx) => ctx.throw(404, `No note ${ctx.params['id']}.`));
  routes.get('/api/basic', (ctx) => ctx.throw(401, { headers: { 'WWW-Authenticate': 'Basic realm="notes"', 'Content-Type': 'application/json' }, expose: false }));
  routes.get('/api/broken', () => {
    throw new Error(`${SECRET} at Pool.connect (/srv/app/db.js:12:7)`);
  });
  routes.get('/api/me', (ctx) => {
    ctx.body = { user: gatehouse.sessionOf(ctx).current?.user ?? null };
  });
  routes.post('/api/sign-out', async (ctx) => {
    ctx.body = { ended: await gatehouse.sessionOf(ctx).end() };
  });
  routes.post('/api/rotate', async (ctx) => {
    await gatehouse.sessionOf(ctx).rotate();
    ctx.body = { rotated: true };
  });
  app.use(routes.routes()).use(routes.allowedMethods({ throw: true }));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await gatehouse.close();
  };
});
afterAll(() => close());

/** A Koa-like error answer: the status, a plain-text message, an X-Request-Id; nothing of tRPC, no stack, no internals. */
function expectPlain(res: RawResponse, status: number, message: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  expect(res.body).toBe(message);
  expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  expectNoLeak(res);
}

function expectNoLeak(res: RawResponse) {
  expect(res.body).not.toMatch(/ at |\.js:\d|ECONNREFUSED|10\.0\.0\.5|Unexpected|JSON at position|position \d/);
}

describe('outside Gatehouse’s prefix: the host’s REST routes get Koa’s error shape', () => {
  it('malformed JSON to POST /api/notes is 400 "Bad Request" as plain text, with a request id, not tRPC’s PARSE_ERROR', async () => {
    const res = await request(`${url}/api/notes`, { body: '{"text": ' });
    expectPlain(res, 400, 'Bad Request');
    // The same request well formed is the host's to answer.
    const ok = await request(`${url}/api/notes`, { body: { text: 'hello' } });
    expect(ok.status).toBe(201);
    expect(ok.json).toEqual({ saved: { text: 'hello' } });
  });

  it('ctx.throw(404, message) keeps its status and its message; the router’s thrown 405 is "Method Not Allowed"', async () => {
    expectPlain(await request(`${url}/api/notes/7`), 404, 'No note 7.');
    expectPlain(await request(`${url}/api/notes`, { method: 'DELETE' }), 405, 'Method Not Allowed');
  });

  it('an HttpError’s own headers are set as Koa sets them (a 401’s WWW-Authenticate), its Content-Type is not', async () => {
    const res = await request(`${url}/api/basic`);
    expectPlain(res, 401, 'Unauthorized');
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="notes"');
  });

  it('a bug in a host route is 500 "Internal Server Error", never the message or a stack; the log has it, with the same request id', async () => {
    const res = await request(`${url}/api/broken`);
    expectPlain(res, 500, 'Internal Server Error');
    const logged = logs.entries().find((entry) => entry.requestId === res.headers.get('x-request-id') && entry.level === 50);
    expect(JSON.stringify(logged)).toContain(SECRET);
  });

  it('a session refusal in a host route (rotate() signed out) is 401 with Gatehouse’s message as plain text', async () => {
    expectPlain(await request(`${url}/api/rotate`, { body: {} }), 401, errorMessages.unauthorized);
  });

  it('a store outage while reading the session is 503 with Retry-After and a safe message, and no cookie is touched', async () => {
    const cookie = sessionCookie(await request(`${url}/api/trpc/auth.register`, { body: { username: 'rest-outage', password } }));
    outage.down = true;
    try {
      const res = await request(`${url}/api/me`, { cookie });
      expectPlain(res, 503, errorMessages.storeUnavailable);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.setCookies).toEqual([]);
      const signOut = await request(`${url}/api/sign-out`, { cookie, body: {} });
      expectPlain(signOut, 503, errorMessages.storeUnavailable);
      expect(signOut.setCookies).toEqual([]);
      expect(signOut.headers.get('clear-site-data')).toBeNull();
    } finally {
      outage.down = false;
    }
    expect((await request(`${url}/api/me`, { cookie })).json).toMatchObject({ user: { username: 'rest-outage' } });
  });
});

describe('under Gatehouse’s prefix: tRPC’s error shape, as before', () => {
  it('malformed JSON (refused by the host’s body parser) is 400 PARSE_ERROR in tRPC’s shape, with the request id', async () => {
    const res = await request(`${url}/api/trpc/auth.login`, { body: '{"username": ' });
    expect(res.status).toBe(400);
    const requestId = res.headers.get('x-request-id');
    expect(res.json).toEqual({ error: { message: 'Bad Request', code: -32700, data: { code: 'PARSE_ERROR', httpStatus: 400, requestId } } });
    expectNoLeak(res);
  });

  it('a store outage is 503 SERVICE_UNAVAILABLE in tRPC’s shape with Retry-After', async () => {
    const cookie = sessionCookie(await request(`${url}/api/trpc/auth.register`, { body: { username: 'trpc-outage', password } }));
    outage.down = true;
    try {
      const res = await request(`${url}/api/trpc/auth.me`, { cookie });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.json).toMatchObject({ error: { message: errorMessages.storeUnavailable, data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503 } } });
      expect(res.setCookies).toEqual([]);
      expectNoLeak(res);
    } finally {
      outage.down = false;
    }
  });
});
