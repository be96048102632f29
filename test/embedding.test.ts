import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { bodyParser as koaBodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import legacyBodyParser from 'koa-bodyparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeClient } from '../client/node.js';
import { createGatehouse, createLogger, type Gatehouse, gatehouseRoutes, protectedProcedure, publicProcedure, router } from '../server/index.js';
import { createTestCaller } from '../server/testing.js';
import { request } from './helpers/http.js';
import { TEST_KEY } from './helpers/server.js';

// Issue 10: Gatehouse mounted in a team's own Koa app, next to its routes and body parser, under its own prefix.
const password = 'correct horse battery';
const teamRouter = router({
  ...gatehouseRoutes,
  greeting: protectedProcedure.query(({ ctx }) => ({ text: `hello ${ctx.user.username}` })),
  status: publicProcedure.query(({ ctx }) => ({ signedIn: ctx.user !== null })),
});
type TeamRouter = typeof teamRouter;

interface Hosted {
  url: string;
  gatehouse: Gatehouse;
  errors: Error[];
  close(): Promise<void>;
}

/** A team's app: its own error handler, body parser, routes; Gatehouse's session and tRPC under /api/trpc. */
async function hostApp(options: { parser?: 'koa-bodyparser' | '@koa/bodyparser' | 'none'; parserAfter?: boolean } = {}): Promise<Hosted> {
  const gatehouse = await createGatehouse({ keys: [TEST_KEY], cookie: { secure: false }, logger: createLogger('silent') });
  const app = new Koa();
  app.silent = true;
  const errors: Error[] = [];
  app.on('error', (error: Error) => errors.push(error));
  // The team's own error handler answers in its own shape.
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const status = (error as { status?: number }).status ?? 500;
      ctx.status = status;
      ctx.body = { teamError: status === 500 ? 'team says: internal' : (error as Error).message };
      ctx.app.emit('error', error, ctx);
    }
  });
  const parser = options.parser === 'koa-bodyparser' ? legacyBodyParser() : options.parser === 'none' ? undefined : koaBodyParser();
  if (parser && !options.parserAfter) app.use(parser);
  app.use(gatehouse.session());
  if (parser && options.parserAfter) app.use(parser);
  app.use(gatehouse.trpc({ router: teamRouter, prefix: '/api/trpc' }));
  const routes = new Router();
  routes.get('/', (ctx) => {
    ctx.type = 'html';
    ctx.body = '<h1>team home</h1>';
  });
  routes.get('/account', (ctx) => {
    const session = gatehouse.sessionOf(ctx).current;
    ctx.body = { signedIn: session !== null, username: session?.user.username ?? null };
  });
  routes.post('/api/orders', (ctx) => {
    ctx.body = { ordered: (ctx.request as { body?: unknown }).body ?? null };
  });
  routes.get('/teapot', (ctx) => ctx.throw(418, 'short and stout'));
  routes.get('/broken', () => {
    throw new Error('the team’s own bug');
  });
  routes.get('/healthz', (ctx) => {
    ctx.body = 'team health';
  });
  app.use(routes.routes());
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    gatehouse,
    errors,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await gatehouse.close();
    },
  };
}

const register = (url: string, username: string) => request(`${url}/api/trpc/auth.register`, { body: { username, password } });
const cookieOf = (res: { setCookies: string[] }) => res.setCookies.find((c) => c.startsWith('sid='))!.split(';')[0]!;

describe('Gatehouse in a team’s Koa app, under /api/trpc', () => {
  let host: Hosted;
  beforeAll(async () => {
    host = await hostApp();
  });
  afterAll(() => host.close());

  it('the team’s HTML route gets none of Gatehouse’s headers (no CSP, X-Frame-Options, CORP, request id)', async () => {
    const res = await request(`${host.url}/`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('<h1>team home</h1>');
    for (const header of ['content-security-policy', 'x-frame-options', 'cross-origin-resource-policy', 'x-request-id', 'cache-control']) {
      expect(res.headers.get(header), header).toBeNull();
    }
  });

  it('a partner’s cross-origin POST to the team’s own API reaches the team (no CSRF 403 outside the prefix)', async () => {
    const res = await request(`${host.url}/api/orders`, { body: { item: 'tea' }, headers: { origin: 'https://partner.example', 'sec-fetch-site': 'cross-site' } });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ ordered: { item: 'tea' } });
  });

  it('the team’s own 418 and 500 reach the team’s error handler, in the team’s shape', async () => {
    const teapot = await request(`${host.url}/teapot`);
    expect(teapot.status).toBe(418);
    expect(teapot.json).toEqual({ teamError: 'short and stout' });
    const broken = await request(`${host.url}/broken`);
    expect(broken.status).toBe(500);
    expect(broken.json).toEqual({ teamError: 'team says: internal' });
    expect(host.errors.map((e) => e.message)).toContain('the team’s own bug');
  });

  it('/healthz and /trpc stay the team’s: Gatehouse takes neither unless asked', async () => {
    expect((await request(`${host.url}/healthz`)).body).toBe('team health');
    expect((await request(`${host.url}/trpc/auth.me`)).status).toBe(404);
  });

  it('with the team’s body parser mounted first, calls with input work: register, then the team route sees the session', async () => {
    const res = await register(host.url, 'host-user');
    expect(res.status).toBe(200);
    expect((await request(`${host.url}/account`, { cookie: cookieOf(res) })).json).toEqual({ signedIn: true, username: 'host-user' });
    expect((await request(`${host.url}/account`)).json).toEqual({ signedIn: false, username: null });
  });

  it('the prefix gets Gatehouse’s guards and headers: no-store, a request id, and a cross-site logout is 403', async () => {
    const cookie = cookieOf(await register(host.url, 'guarded-user'));
    const me = await request(`${host.url}/api/trpc/auth.me`, { cookie });
    expect(me.headers.get('cache-control')).toBe('no-store');
    expect(me.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const forged = await request(`${host.url}/api/trpc/auth.logout`, { cookie, body: {}, headers: { origin: 'https://evil.example' } });
    expect(forged.status).toBe(403);
    expect((await request(`${host.url}/account`, { cookie })).json).toEqual({ signedIn: true, username: 'guarded-user' });
  });

  it('the typed Node client takes the prefix: the team’s protected procedure is 401, then typed, then 401 after logout', async () => {
    const { api } = createNodeClient<TeamRouter>({ url: host.url, prefix: '/api/trpc' });
    await expect(api.greeting.query()).rejects.toMatchObject({ data: { httpStatus: 401 } });
    await api.auth.register.mutate({ username: 'team-user', password });
    expect(await api.greeting.query()).toEqual({ text: 'hello team-user' });
    expect(await api.status.query()).toEqual({ signedIn: true });
    await api.auth.logout.mutate();
    await expect(api.greeting.query()).rejects.toMatchObject({ data: { httpStatus: 401 } });
  });

  it('the team can unit-test its procedure with createTestCaller', async () => {
    const signedIn = await createTestCaller({ router: teamRouter, user: { id: 'u1', username: 'alice', role: 'user' } });
    expect(await signedIn.caller.greeting()).toEqual({ text: 'hello alice' });
    await signedIn.close();
  });
});

describe.each([
  ['@koa/bodyparser before Gatehouse', { parser: '@koa/bodyparser' as const }],
  ['koa-bodyparser before Gatehouse', { parser: 'koa-bodyparser' as const }],
  ['@koa/bodyparser after Gatehouse', { parser: '@koa/bodyparser' as const, parserAfter: true }],
])('with %s', (_name, options) => {
  let host: Hosted;
  beforeAll(async () => {
    host = await hostApp(options);
  });
  afterAll(() => host.close());

  it('register and login with input answer 200, and invalid input is still a field error (400), not "expected object"', async () => {
    expect((await register(host.url, 'parsed-user')).status).toBe(200);
    const login = await request(`${host.url}/api/trpc/auth.login`, { body: { username: 'parsed-user', password } });
    expect(login.status).toBe(200);
    const bad = await request(`${host.url}/api/trpc/auth.login`, { body: { username: 'x', password } });
    expect(bad.status).toBe(400);
    expect((bad.json as { error: { data: { fieldErrors: Record<string, string[]> } } }).error.data.fieldErrors.username).toBeDefined();
  });

  it('a batch with input works too', async () => {
    const cookie = cookieOf(await register(host.url, 'batch-parsed'));
    const logout = await request(`${host.url}/api/trpc/auth.logout?batch=1`, { cookie, body: { 0: {} } });
    expect(logout.json).toEqual([{ result: { data: { loggedOut: true } } }]);
  });
});

describe('misuse fails at the first request with a message naming the fix', () => {
  it('sessionOf() in a route mounted before gatehouse.session()', async () => {
    const gatehouse = await createGatehouse({ keys: [TEST_KEY], cookie: { secure: false }, logger: createLogger('silent') });
    const app = new Koa();
    app.silent = true;
    const errors: Error[] = [];
    app.on('error', (error: Error) => errors.push(error));
    app.use((ctx, next) => {
      if (ctx.path === '/early') ctx.body = { signedIn: gatehouse.sessionOf(ctx).current !== null };
      return next();
    });
    app.use(gatehouse.session());
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const res = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/early`);
      expect(res.status).toBe(500);
      expect(errors[0]?.message).toContain('Mount the session middleware before anything that reads the session: app.use(gatehouse.session())');
    } finally {
      server.closeAllConnections();
      server.close();
      await gatehouse.close();
    }
  });

  it('gatehouse.trpc() without gatehouse.session() before it', async () => {
    const gatehouse = await createGatehouse({ keys: [TEST_KEY], cookie: { secure: false }, logger: createLogger('silent') });
    const app = new Koa();
    app.silent = true;
    const errors: Error[] = [];
    app.on('error', (error: Error) => errors.push(error));
    app.use(gatehouse.trpc({ router: teamRouter }));
    app.use(gatehouse.session());
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const res = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc/auth.me`);
      expect(res.status).toBe(500);
      expect(errors[0]?.message).toBe(
        'gatehouse.trpc() needs gatehouse.session() mounted before it: app.use(gatehouse.session()); app.use(gatehouse.trpc({ router }))',
      );
    } finally {
      server.closeAllConnections();
      server.close();
      await gatehouse.close();
    }
  });

  it('a prefix without a leading slash is refused when the middleware is built', async () => {
    const gatehouse = await createGatehouse({ keys: [TEST_KEY], logger: createLogger('silent') });
    expect(() => gatehouse.trpc({ router: teamRouter, prefix: 'api/trpc' })).toThrow('prefix must start with "/"');
    await gatehouse.close();
  });
});

describe('a Secure-cookie Gatehouse reached over plain HTTP (no TLS proxy, no httpsOnly helper)', () => {
  it('refuses to start a session with a 403 that names the fix, sets no cookie, and never answers 500', async () => {
    const gatehouse = await createGatehouse({ keys: [TEST_KEY], logger: createLogger('silent') });
    const app = new Koa();
    app.silent = true;
    app.use(gatehouse.session());
    app.use(gatehouse.trpc({ router: teamRouter }));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const res = await request(`${url}/trpc/auth.register`, { body: { username: 'plain-http-user', password } });
      expect(res.status).toBe(403);
      expect((res.json as { error: { message: string } }).error.message).toContain('HTTPS is required to sign in');
      expect((res.json as { error: { message: string } }).error.message).toContain('cookie.secure to false');
      expect(res.setCookies).toEqual([]);
      expect((await request(`${url}/trpc/auth.me`)).json).toEqual({ result: { data: null } });
    } finally {
      server.closeAllConnections();
      server.close();
      await gatehouse.close();
    }
  });
});

