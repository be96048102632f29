import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeClient } from '../client/node.js';
import { createGatehouse, gatehouseRoutes, protectedProcedure, publicProcedure, router } from '../server/index.js';
import { createTestCaller } from '../server/testing.js';
import { request, signUp } from './helpers/http.js';
import { testConfig } from './helpers/server.js';

// A team's own router: the Gatehouse procedures plus their own.
const teamRouter = router({
  ...gatehouseRoutes,
  greeting: protectedProcedure.query(({ ctx }) => ({ text: `hello ${ctx.user.username}` })),
  status: publicProcedure.query(({ ctx }) => ({ signedIn: ctx.user !== null })),
});
type TeamRouter = typeof teamRouter;

let url: string;
let close: () => Promise<void>;
beforeAll(async () => {
  const gatehouse = await createGatehouse(testConfig());
  const app = new Koa();
  // A host middleware that looks at koa-session's ctx.session before Gatehouse's layer has run.
  app.use(async (ctx, next) => {
    if (ctx.path === '/early-peek') ctx.state.peeked = ctx.session === undefined ? 'undefined' : 'object';
    await next();
  });
  app.use(gatehouse.middleware(app, teamRouter));
  app.use(async (ctx, next) => {
    if (ctx.path !== '/plain') return next();
    ctx.body = { route: 'plain', signedIn: gatehouse.sessionOf(ctx).current !== null };
  });
  app.use(async (ctx, next) => {
    if (ctx.path !== '/early-peek') return next();
    ctx.body = { peeked: ctx.state.peeked, signedIn: gatehouse.sessionOf(ctx).current !== null };
  });
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

describe('Gatehouse mounted in a team’s own Koa app', () => {
  it('serves the team’s plain Koa route beside tRPC, and that route sees the session', async () => {
    const anonymous = await request(`${url}/plain`);
    expect(anonymous.status).toBe(200);
    expect(anonymous.json).toEqual({ route: 'plain', signedIn: false });
    const cookie = await signUp(url, 'host-user');
    expect((await request(`${url}/plain`, { cookie })).json).toEqual({ route: 'plain', signedIn: true });
  });

  it('a host middleware may read ctx.session before Gatehouse runs: no 500, and the session still works', async () => {
    const anonymous = await request(`${url}/early-peek`);
    expect(anonymous.status).toBe(200);
    expect(anonymous.json).toEqual({ peeked: 'object', signedIn: false });
    expect(anonymous.headers.get('set-cookie')).toBeNull();
    const cookie = await signUp(url, 'early-peeker');
    const signedIn = await request(`${url}/early-peek`, { cookie });
    expect(signedIn.status).toBe(200);
    expect(signedIn.json).toEqual({ peeked: 'object', signedIn: true });
  });

  it('protects the team’s extra procedure: 401 before login, typed answer after, 401 after logout', async () => {
    const { api } = createNodeClient<TeamRouter>({ url });
    await expect(api.greeting.query()).rejects.toMatchObject({ data: { httpStatus: 401 } });
    expect(await api.status.query()).toEqual({ signedIn: false });
    await api.auth.register.mutate({ username: 'team-user', password: 'correct horse battery' });
    expect(await api.greeting.query()).toEqual({ text: 'hello team-user' });
    expect(await api.status.query()).toEqual({ signedIn: true });
    await api.auth.logout.mutate();
    await expect(api.greeting.query()).rejects.toMatchObject({ data: { httpStatus: 401 } });
  });

  it('the team can unit-test its procedure with createTestCaller', async () => {
    const signedIn = await createTestCaller({ router: teamRouter, user: { id: 'u1', username: 'alice', role: 'user' } });
    expect(await signedIn.caller.greeting()).toEqual({ text: 'hello alice' });
    await signedIn.close();
    const anonymous = await createTestCaller({ router: teamRouter });
    await expect(anonymous.caller.greeting()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await anonymous.close();
  });
});
