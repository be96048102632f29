import { once } from 'node:events';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, createLogger, initGatehouse } from '../server/index.js';
import { createNodeClient } from '../client/node.js';
import { TRPCClientError } from '../client/index.js';
import { request, sessionCookie } from './helpers/http.js';
import { captureLogs } from './helpers/logCapture.js';
import { startTeamServer, type TeamRouter, type TeamServer } from './helpers/teamApp.js';

// Issue 11: a team's own users, session data and context, over real HTTP through the typed Node client.
const password = 'a team password 1';
let srv: TeamServer;
beforeAll(async () => {
  srv = await startTeamServer();
});
afterAll(() => srv.close());

const client = () => createNodeClient<TeamRouter>({ url: srv.url, prefix: '/api/trpc' });
let n = 0;
const member = (role: 'member' | 'staff' | 'admin' = 'member') => srv.accounts.add(`person${(n += 1)}@team.example`, password, role);
const errorOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCClientError) return error as TRPCClientError<TeamRouter>;
    throw error;
  }
  throw new Error('expected the call to fail');
};

describe('the team’s users through the built-in procedures', () => {
  it('an email login (with "@") signs in through the team’s accounts adapter; ctx.user is the team’s user with its own fields', async () => {
    const user = member();
    const { api } = client();
    const { user: signedIn } = await api.auth.login.mutate({ username: user.email, password });
    expect(signedIn).toEqual(user);
    expect(await api.profile.query()).toEqual({ email: user.email, role: 'member', tenant: 'public', db: 'team-db' });
    const me = await api.auth.me.query();
    expect(me?.user).toEqual(user);
  });

  it('a role Gatehouse does not know (staff) works over HTTP, and the team’s isAdmin admits it; a member gets 403', async () => {
    const staff = member('staff');
    const { api } = client();
    await api.auth.login.mutate({ username: staff.email, password });
    expect(await api.staffOnly.query()).toBe('welcome, staff');
    const plain = client().api;
    await plain.auth.login.mutate({ username: member().email, password });
    expect((await errorOf(plain.staffOnly.query())).data?.httpStatus).toBe(403);
  });

  it('a wrong password and an unknown email get the same 401 and message', async () => {
    const { api } = client();
    const wrong = await errorOf(api.auth.login.mutate({ username: member().email, password: 'not the password' }));
    const unknown = await errorOf(api.auth.login.mutate({ username: 'nobody@team.example', password }));
    expect([wrong.data?.httpStatus, unknown.data?.httpStatus]).toEqual([401, 401]);
    expect(wrong.message).toBe(unknown.message);
  });

  it('auth.register without the adapter’s register method answers 501 NOT_IMPLEMENTED, not 500', async () => {
    const error = await errorOf(client().api.auth.register.mutate({ username: 'new@team.example', password }));
    expect(error.data?.code).toBe('NOT_IMPLEMENTED');
    expect(error.data?.httpStatus).toBe(501);
  });

  it('the team’s context field comes from the Koa request (a header)', async () => {
    const user = member();
    const login = await request(`${srv.url}/api/trpc/auth.login`, { body: { username: user.email, password } });
    const profile = await request(`${srv.url}/api/trpc/profile`, { cookie: sessionCookie(login), headers: { 'x-tenant': 'acme' } });
    expect((profile.json as { result: { data: { tenant: string } } }).result.data.tenant).toBe('acme');
  });
});

describe('typed session data', () => {
  it('starts from the schema’s defaults, and an update is seen by the next request, by tRPC and by a host route', async () => {
    const { api, jar } = client();
    await api.auth.login.mutate({ username: member().email, password });
    expect(await api.preferences.query()).toEqual({ tenantId: null, theme: 'light', cart: [] });
    expect(await api.setTheme.mutate({ theme: 'dark' })).toEqual({ tenantId: null, theme: 'dark', cart: [] });
    await api.addToCart.mutate({ item: 'tea' });
    expect(await api.preferences.query()).toEqual({ tenantId: null, theme: 'dark', cart: ['tea'] });
    const cookie = await jar.getCookieString(srv.url);
    expect((await request(`${srv.url}/theme`, { cookie })).json).toMatchObject({ theme: 'dark' });
  });

  it('an update that does not match the schema is a 400 naming the field, and nothing is stored', async () => {
    const { api } = client();
    await api.auth.login.mutate({ username: member().email, password });
    await api.setTheme.mutate({ theme: 'dark' });
    const error = await errorOf(api.setTheme.mutate({ theme: 'purple' }));
    expect(error.data?.httpStatus).toBe(400);
    expect(error.message).toMatch(/^Invalid session data: theme: /);
    expect((await api.preferences.query()).theme).toBe('dark');
  });

  it('data past the size limit (4096 bytes as JSON) is a 400 saying the limit, and nothing is stored', async () => {
    const { api } = client();
    await api.auth.login.mutate({ username: member().email, password });
    // Twenty items of about 200 bytes fit (4,048 bytes as JSON); the next would not.
    for (let i = 0; i < 20; i += 1) await api.addToCart.mutate({ item: `item-${String(i).padStart(2, '0')}-${'x'.repeat(190)}` });
    const error = await errorOf(api.addToCart.mutate({ item: 'y'.repeat(200) }));
    expect(error.data?.httpStatus).toBe(400);
    expect(error.message).toContain('the limit is 4096');
    expect((await api.preferences.query()).cart).toHaveLength(20);
  });

  it('a new login starts from fresh data (nothing carries over: the fixation rule); a password change keeps it', async () => {
    const user = member();
    const { api } = client();
    await api.auth.login.mutate({ username: user.email, password });
    await api.setTheme.mutate({ theme: 'dark' });
    await api.auth.changePassword.mutate({ currentPassword: password, newPassword: 'a second password' });
    expect((await api.preferences.query()).theme).toBe('dark');
    await api.auth.login.mutate({ username: user.email, password: 'a second password' });
    expect((await api.preferences.query()).theme).toBe('light');
  });
});

describe('fresh logins for sensitive actions (ASVS 7.5.1, 7.5.3)', () => {
  it('past the 10-minute window a fresh-only procedure is 412 FRESH_LOGIN_REQUIRED; re-authenticating rotates the id and lets it through', async () => {
    const { api, jar } = client();
    await api.auth.login.mutate({ username: member().email, password });
    expect(await api.closeAccount.mutate()).toEqual({ closed: true });
    srv.clock.advance(10 * 60_000 + 1);
    const stale = await errorOf(api.closeAccount.mutate());
    expect(stale.data?.code).toBe('PRECONDITION_FAILED');
    expect(stale.data?.httpStatus).toBe(412);
    expect(stale.data?.reason).toBe('FRESH_LOGIN_REQUIRED');
    // The same applies to Gatehouse's own sensitive procedures.
    expect((await errorOf(api.sessions.revokeOthers.mutate())).data?.httpStatus).toBe(412);

    const wrong = await errorOf(api.auth.reauthenticate.mutate({ password: 'not it at all' }));
    expect(wrong.data?.httpStatus).toBe(403);
    const before = await jar.getCookieString(srv.url);
    const renewed = await api.auth.reauthenticate.mutate({ password });
    expect(new Date(renewed.authenticatedAt).getTime()).toBe(srv.clock.now());
    const after = await jar.getCookieString(srv.url);
    expect(after).not.toBe(before);
    // The old id is dead; the new one is fresh.
    expect((await request(`${srv.url}/api/trpc/profile`, { cookie: before })).status).toBe(401);
    expect(await api.closeAccount.mutate()).toEqual({ closed: true });
  });
});

describe('session events', () => {
  it('created, refreshed and ended (with the reason) reach the hook, with the user id and the public session id', async () => {
    const user = member();
    const { api } = client();
    const from = srv.events.length;
    await api.auth.login.mutate({ username: user.email, password });
    await api.auth.reauthenticate.mutate({ password });
    const other = client().api;
    await other.auth.login.mutate({ username: user.email, password });
    await api.auth.changePassword.mutate({ currentPassword: password, newPassword: 'events password 2' });
    await api.auth.logout.mutate();
    // The hook runs after the request (setImmediate): let it.
    await new Promise((resolve) => setImmediate(resolve));
    const seen = srv.events.slice(from).filter((event) => event.userId === user.id).map((event) => (event.type === 'ended' ? `ended:${event.reason}` : event.type));
    expect(seen).toEqual(['created', 'refreshed', 'created', 'refreshed', 'ended:password-change', 'ended:logout']);
    for (const event of srv.events.slice(from)) expect(event.sessionId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});

describe('a session-events hook that fails', () => {
  it('never blocks or breaks a request: a throwing hook and a rejecting one leave login and logout at 200, and each failure is logged', async () => {
    for (const hook of [
      () => {
        throw new Error('audit log down');
      },
      () => Promise.reject(new Error('audit log down')),
    ]) {
      const capture = captureLogs('info');
      const failing = await startTeamServer({ onSessionEvent: hook, logger: capture.logger });
      try {
        const user = failing.accounts.add('hook@team.example', password, 'member');
        const { api } = createNodeClient<TeamRouter>({ url: failing.url, prefix: '/api/trpc' });
        expect((await api.auth.login.mutate({ username: user.email, password })).user).toEqual(user);
        expect(await api.auth.logout.mutate()).toEqual({ loggedOut: true });
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
        const failures = capture.entries().filter((entry) => entry.event === 'session_event_hook.failed');
        expect(failures.length).toBeGreaterThanOrEqual(2);
      } finally {
        await failing.close();
      }
    }
  });
});

describe('a context of the team’s own that takes one of Gatehouse’s names', () => {
  it('fails at the first request with a message naming the field and the fix', async () => {
    const bad = initGatehouse({ context: () => ({ user: 'mine' }) as never });
    const gatehouse = await createGatehouse(bad, { keys: ['test-key-0123456789-abcdefghijklmnopqrstuvwxyz'], cookie: { secure: false }, logger: createLogger('silent') });
    const app = new Koa();
    app.silent = true;
    const errors: Error[] = [];
    app.on('error', (error: Error) => errors.push(error));
    app.use(gatehouse.session());
    app.use(gatehouse.trpc({ router: bad.router({ ...bad.routes }) }));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const res = await request(`http://127.0.0.1:${(server.address() as { port: number }).port}/trpc/auth.me`);
      expect(res.status).toBe(500);
      expect(errors.map((e) => e.message)).toContain(
        'initGatehouse({ context }) returned a field named "user", which is Gatehouse\'s own: rename it (Gatehouse\'s are session, user, clock, requestId, clientAddress, log, services).',
      );
    } finally {
      server.closeAllConnections();
      server.close();
      await gatehouse.close();
    }
  });
});
