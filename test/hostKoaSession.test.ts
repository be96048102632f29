import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import koaSession from 'koa-session';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, createLogger, type Gatehouse, gatehouseRoutes, router } from '../server/index.js';
import { request } from './helpers/http.js';
import { TEST_KEY } from './helpers/server.js';

// DESIGN trap 10 / SECURITY D3 / attack 28: the team's own koa-session (cookie-based) mounted before or after
// Gatehouse. koa-session extends an app's context once, so the two used to share one session object: Gatehouse's
// record (user id, username, role) landed in the team's client-side cookie, or the team's session stopped persisting.
const password = 'correct horse battery';

/** The team's cookie session as the browser holds it: koa-session's base64 JSON (signed with the app's keys). */
function teamCookieData(setCookies: string[]): Record<string, unknown> | undefined {
  const line = setCookies.find((c) => c.startsWith('koa.sess='));
  if (!line) return undefined;
  const value = line.slice('koa.sess='.length, line.indexOf(';'));
  return JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as Record<string, unknown>;
}

describe.each(['before', 'after'] as const)('the team’s own koa-session mounted %s Gatehouse', (order) => {
  let url: string;
  let gatehouse: Gatehouse;
  let close: () => Promise<void>;
  beforeAll(async () => {
    gatehouse = await createGatehouse({ keys: [TEST_KEY], cookie: { secure: false }, logger: createLogger('silent') });
    const app = new Koa();
    app.keys = ['team-cookie-signing-key-0123456789'];
    app.silent = true;
    const teamSession = koaSession({ key: 'koa.sess', signed: true }, app);
    if (order === 'before') app.use(teamSession);
    app.use(gatehouse.session());
    if (order === 'after') app.use(teamSession);
    app.use(gatehouse.trpc({ router: router(gatehouseRoutes) }));
    app.use((ctx) => {
      if (ctx.path === '/visits') {
        const session = ctx.session as { views?: number } | null;
        if (session) session.views = (session.views ?? 0) + 1;
        ctx.body = { views: session?.views, gatehouseUser: gatehouse.sessionOf(ctx).current?.user.username ?? null };
      }
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

  it('registering through Gatehouse sets its own sid cookie, and nothing of Gatehouse lands in the team’s cookie', async () => {
    const res = await request(`${url}/trpc/auth.register`, { body: { username: `koa-sess-${order}`, password } });
    expect(res.status).toBe(200);
    expect(res.setCookies.some((c) => /^sid=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43};/.test(c))).toBe(true);
    // The app has keys (for its own signed cookies): Gatehouse still writes one cookie, no koa `.sig` beside it.
    expect(res.setCookies.filter((c) => c.startsWith('sid.sig='))).toEqual([]);
    const team = teamCookieData(res.setCookies);
    // The team's session was not touched by the registration at all.
    expect(team).toBeUndefined();
    for (const line of res.setCookies.filter((c) => !c.startsWith('sid='))) {
      expect(line).not.toContain(`koa-sess-${order}`);
    }
  });

  it('the team’s session persists across requests while a Gatehouse session is live, and holds only the team’s data', async () => {
    const reg = await request(`${url}/trpc/auth.register`, { body: { username: `both-${order}`, password } });
    const sid = reg.setCookies.find((c) => c.startsWith('sid='))!.split(';')[0]!;
    const first = await request(`${url}/visits`, { cookie: sid });
    expect(first.json).toEqual({ views: 1, gatehouseUser: `both-${order}` });
    const team = teamCookieData(first.setCookies);
    expect(team).toMatchObject({ views: 1 });
    expect(Object.keys(team!).filter((key) => !key.startsWith('_'))).toEqual(['views']);
    const teamCookies = first.setCookies.filter((c) => c.startsWith('koa.sess')).map((c) => c.split(';')[0]!);
    const second = await request(`${url}/visits`, { cookie: [sid, ...teamCookies].join('; ') });
    expect(second.json).toEqual({ views: 2, gatehouseUser: `both-${order}` });
    // Gatehouse's own session is unaffected by the team's.
    const me = await request(`${url}/trpc/auth.me`, { cookie: [sid, ...teamCookies].join('; ') });
    expect((me.json as { result: { data: { user: { username: string } } } }).result.data.user.username).toBe(`both-${order}`);
  });

  it('logging out of Gatehouse leaves the team’s session alone', async () => {
    const reg = await request(`${url}/trpc/auth.register`, { body: { username: `logout-${order}`, password } });
    const sid = reg.setCookies.find((c) => c.startsWith('sid='))!.split(';')[0]!;
    const visit = await request(`${url}/visits`, { cookie: sid });
    const teamCookies = visit.setCookies.filter((c) => c.startsWith('koa.sess')).map((c) => c.split(';')[0]!);
    const out = await request(`${url}/trpc/auth.logout`, { cookie: [sid, ...teamCookies].join('; '), body: {} });
    expect(out.json).toEqual({ result: { data: { loggedOut: true } } });
    expect(out.setCookies.filter((c) => c.startsWith('koa.sess'))).toEqual([]);
    const after = await request(`${url}/visits`, { cookie: teamCookies.join('; ') });
    expect(after.json).toEqual({ views: 2, gatehouseUser: null });
  });
});

describe('logout and the app’s other cookies (Clear-Site-Data)', () => {
  // What browsers then do with each answer (the whole site's cookies go): test/logoutCookies.test.ts, in Chromium.
  it.each([
    [undefined, {}, null],
    [true, {}, '"cookies"'],
    [false, {}, null],
    // Not a secure context for the browser (plain http, not localhost): Chromium would ignore the header and drop the Set-Cookie.
    [true, { 'x-forwarded-host': 'shop.example.test', 'x-forwarded-proto': 'http' }, null],
    [true, { 'x-forwarded-host': 'shop.example.test', 'x-forwarded-proto': 'https' }, '"cookies"'],
    [true, { 'x-forwarded-host': 'shop.localhost:8080', 'x-forwarded-proto': 'http' }, '"cookies"'],
  ] as const)('cookie.clearSiteData %s, forwarded %j: logout sends Clear-Site-Data %s, and always expires Gatehouse’s own cookie', async (clearSiteData, forwarded, expected) => {
    const gatehouse = await createGatehouse({
      keys: [TEST_KEY],
      cookie: { secure: false, ...(clearSiteData === undefined ? {} : { clearSiteData }) },
      trustProxy: true,
      logger: createLogger('silent'),
    });
    const app = new Koa();
    app.silent = true;
    app.use(gatehouse.session()).use(gatehouse.trpc({ router: router(gatehouseRoutes) }));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const reg = await request(`${base}/trpc/auth.register`, { body: { username: `csd-${String(clearSiteData)}`, password } });
      const sid = reg.setCookies.find((c) => c.startsWith('sid='))!.split(';')[0]!;
      const out = await request(`${base}/trpc/auth.logout`, { body: {}, cookie: sid, headers: { ...forwarded } });
      expect(out.status).toBe(200);
      expect(out.headers.get('clear-site-data')).toBe(expected);
      expect(out.setCookies.find((c) => c.startsWith('sid='))).toMatch(/^sid=;.*expires=Thu, 01 Jan 1970 00:00:00 GMT/i);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await gatehouse.close();
    }
  });
});
