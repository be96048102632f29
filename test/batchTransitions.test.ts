import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, createLogger } from '../server/index.js';
import { openStore } from '../server/store/openStore.js';
import { Gate, gatedStore } from './helpers/gates.js';
import { request, sessionCookie } from './helpers/http.js';
import { TEST_KEY } from './helpers/server.js';
import { team, teamAccounts, teamRouter } from './helpers/teamApp.js';

// Several calls of one tRPC batch run at once; their session transitions must not interleave.
const password = 'a team password 1';
const storeHandOver = new Gate();
let letEndGo: () => void = () => undefined;
let endCalled: Promise<void>;
let reportEndCalled: () => void = () => undefined;
let url: string;
let close: () => Promise<void>;
let sessionsOf: (userId: string) => Promise<number>;
let accounts: ReturnType<typeof teamAccounts>;

const router = team.router({
  ...teamRouter._def.record,
  rotateNow: team.protectedProcedure.mutation(async ({ ctx }) => {
    await ctx.session.rotate();
    return 'rotated';
  }),
  endWhenTold: team.protectedProcedure.mutation(async ({ ctx }) => {
    await new Promise<void>((resolve) => (letEndGo = resolve));
    const ending = ctx.session.end();
    reportEndCalled();
    return ending;
  }),
});

beforeAll(async () => {
  accounts = teamAccounts();
  const store = gatedStore(await openStore({ url: 'memory://', timeoutMs: 1_000 }), { compareAndSet: { gate: storeHandOver, key: /^s:/ } });
  const gatehouse = await createGatehouse(team, { keys: [TEST_KEY], cookie: { secure: false }, accounts, store, logger: createLogger('silent') });
  const app = new Koa();
  app.silent = true;
  app.use(gatehouse.session());
  app.use(gatehouse.trpc({ router, prefix: '/api/trpc' }));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sessionsOf = async (userId) => (await gatehouse.services.sessions.listForUser(userId)).length;
  close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await gatehouse.close();
  };
});
afterAll(() => close());

const login = async (email: string) => sessionCookie(await request(`${url}/api/trpc/auth.login`, { body: { username: email, password } }));
const meOf = async (cookie: string) => (await request(`${url}/api/trpc/auth.me`, { cookie })).json;
const valuedCookies = (setCookies: string[]) => setCookies.map((line) => line.split(';')[0]!).filter((pair) => !pair.endsWith('='));

describe('session transitions of one batch go one at a time', () => {
  it('an end() called while a rotation waits for the store: the rotation answers 401 (not 500), the end succeeds, and no session survives', async () => {
    const user = accounts.add('rotate-end@team.example', password, 'member');
    const cookie = await login(user.email);
    endCalled = new Promise((resolve) => (reportEndCalled = resolve));
    storeHandOver.arm(1);
    // The rotation has written its successor and hands the old record over (a tombstone): held there.
    const batch = request(`${url}/api/trpc/rotateNow,endWhenTold?batch=1`, { cookie, body: {} });
    await storeHandOver.held();
    letEndGo();
    await endCalled;
    storeHandOver.release();
    const res = await batch;
    const [rotation, end] = res.json as [{ error?: { data: { httpStatus: number; code: string } } }, { result?: unknown }];
    expect(rotation.error?.data).toMatchObject({ httpStatus: 401, code: 'UNAUTHORIZED' });
    expect(end.result).toEqual({ data: true });
    expect(valuedCookies(res.setCookies)).toEqual([]);
    expect(res.setCookies.some((line) => line.startsWith('sid=;'))).toBe(true);
    expect(await meOf(cookie)).toEqual({ result: { data: null } });
    expect(await sessionsOf(user.id)).toBe(0);
  });

  it('an update and a rotation in one batch: the rotated session keeps the update, and its cookie works', async () => {
    const user = accounts.add('update-rotate@team.example', password, 'member');
    const cookie = await login(user.email);
    const res = await request(`${url}/api/trpc/setTheme,rotateNow?batch=1`, { cookie, body: { 0: { theme: 'dark' } } });
    expect(res.status).toBe(200);
    const [rotated] = valuedCookies(res.setCookies);
    expect(rotated).toBeDefined();
    expect(rotated).not.toBe(cookie);
    const preferences = await request(`${url}/api/trpc/preferences`, { cookie: rotated! });
    expect(preferences.json).toEqual({ result: { data: { tenantId: null, theme: 'dark', cart: [] } } });
    expect(await meOf(cookie)).toEqual({ result: { data: null } });
    expect(await sessionsOf(user.id)).toBe(1);
  });
});
