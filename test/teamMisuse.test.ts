import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Account, type AccountsAdapter, createGatehouse, createLogger, gatehouseRoutes, initGatehouse, router } from '../server/index.js';
import { request, sessionCookie } from './helpers/http.js';
import { TEST_KEY } from './helpers/server.js';

// What a team gets wrong when it adopts Gatehouse, caught with a message naming the fix (issue 10, issue 11).
const member = z.object({ id: z.string(), email: z.email() });
type Member = z.infer<typeof member>;

/** A member table whose register() takes any login as the email, as a careless adapter would. */
function careless(): AccountsAdapter<Member> & { rows: Map<string, Member> } {
  const rows = new Map<string, Member>();
  const account = (user: Member): Account<Member> => ({ user, version: 1 });
  return {
    rows,
    async authenticate(login) {
      const user = [...rows.values()].find((u) => u.email === login);
      return user ? account(user) : undefined;
    },
    async findById(id) {
      const user = rows.get(id);
      return user ? account(user) : undefined;
    },
    async register(login) {
      const user = { id: `m-${rows.size + 1}`, email: login };
      rows.set(user.id, user);
      return account(user);
    },
    async delete(id) {
      return rows.delete(id);
    },
  };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function listen(app: Koa): Promise<string> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('mount-time checks', () => {
  it('a router built with another definition than createGatehouse got is refused at mount, naming the fix', async () => {
    const gh = initGatehouse({ user: member, context: () => ({ tenant: 'acme' }) });
    const gatehouse = await createGatehouse({ keys: [TEST_KEY], logger: createLogger('silent') });
    closers.push(() => gatehouse.close());
    expect(() => gatehouse.trpc({ router: gh.router({ ...gh.routes }) })).toThrow(
      'gatehouse.trpc(): this router was not built with the builders of the definition createGatehouse() got. Build it with your definition (gh.router, gh.protectedProcedure, …) and pass the same definition: createGatehouse(gh, options).',
    );
    // The same router with its own definition mounts.
    const right = await createGatehouse(gh, { keys: [TEST_KEY], accounts: careless(), logger: createLogger('silent') });
    closers.push(() => right.close());
    expect(() => right.trpc({ router: gh.router({ ...gh.routes }) })).not.toThrow();
    // And the built-in definition's router mounts on the built-in createGatehouse.
    expect(() => gatehouse.trpc({ router: router({ ...gatehouseRoutes }) })).not.toThrow();
  });

  it('session data that Gatehouse’s login cannot start (a field without a default) is refused at mount, naming the field', async () => {
    const gh = initGatehouse({ user: member, sessionData: z.object({ tenantId: z.string(), theme: z.string().default('light') }) });
    const gatehouse = await createGatehouse(gh, { keys: [TEST_KEY], accounts: careless(), logger: createLogger('silent') });
    closers.push(() => gatehouse.close());
    expect(() => gatehouse.trpc({ router: gh.router({ ...gh.routes }) })).toThrow(
      /^gatehouse\.trpc\(\): your router has Gatehouse's auth\.login\/auth\.register, which start sessions with your sessionData schema's defaults, but \{\} does not parse: tenantId: .+\. Give every field of initGatehouse\(\{ sessionData \}\) a \.default\(…\), or make it \.optional\(\)\.$/,
    );
    // Nested under another name, they are still found.
    expect(() => gatehouse.trpc({ router: gh.router({ account: gh.routes.auth }) })).toThrow(/tenantId/);
    // Without Gatehouse's auth routes (a team that starts sessions itself, with data), it mounts.
    expect(() => gatehouse.trpc({ router: gh.router({ sessions: gh.routes.sessions }) })).not.toThrow();
  });
});

describe('registration with an adapter that makes users the schema refuses', () => {
  it('answers 500 without a session, leaves no account behind (the login can register again), and logs the fix', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    const gh = initGatehouse({ user: member });
    const accounts = careless();
    const gatehouse = await createGatehouse(gh, { keys: [TEST_KEY], cookie: { secure: false }, accounts, logger });
    closers.push(() => gatehouse.close());
    const app = new Koa();
    app.use(gatehouse.session()).use(gatehouse.trpc({ router: gh.router({ ...gh.routes }) }));
    const url = await listen(app);
    const res = await request(`${url}/trpc/auth.register`, { body: { username: 'not-an-email', password: 'a long password 1' } });
    expect(res.status).toBe(500);
    expect(res.setCookies).toEqual([]);
    expect((res.json as { error: { message: string } }).error.message).toBe('Something went wrong on our side.');
    expect(accounts.rows.size).toBe(0);
    const log = lines.map((line) => JSON.parse(line) as { event?: string; msg: string; accountRemoved?: boolean }).find((l) => l.event === 'auth.register_unusable_user');
    expect(log?.accountRemoved).toBe(true);
    expect(log?.msg).toMatch(/^AccountsAdapter\.register\(\) returned a user that does not match initGatehouse\(\{ user \}\): .*email.*Make register\(\) create only valid users, or refuse such logins up front with initGatehouse\(\{ credentials \}\)\.$/);
    // A valid registration still works.
    expect((await request(`${url}/trpc/auth.register`, { body: { username: 'ann@example.com', password: 'a long password 1' } })).status).toBe(200);
  });
});

describe('session errors in the team’s own routes', () => {
  async function hostWith(boundary: boolean) {
    const gh = initGatehouse({ user: member, sessionData: z.object({ theme: z.enum(['light', 'dark']).default('light') }) });
    const accounts = careless();
    accounts.rows.set('m-1', { id: 'm-1', email: 'ann@example.com' });
    const gatehouse = await createGatehouse(gh, { keys: [TEST_KEY], cookie: { secure: false }, accounts, logger: createLogger('silent') });
    closers.push(() => gatehouse.close());
    const app = new Koa();
    app.silent = true;
    if (boundary) app.use(gatehouse.errorBoundary());
    app.use(gatehouse.session());
    app.use(async (ctx, next) => {
      if (ctx.path === '/login') {
        await gatehouse.sessionOf(ctx).start({ id: 'm-1', email: 'ann@example.com' });
        ctx.body = 'ok';
        return;
      }
      if (ctx.path === '/theme') {
        ctx.body = await gatehouse.sessionOf(ctx).update({ theme: ctx.query['theme'] as 'light' });
        return;
      }
      await next();
    });
    return listen(app);
  }

  it.each([true, false])('with errorBoundary() %s: invalid data is 400 and a signed-out update 401, with their messages', async (boundary) => {
    const url = await hostWith(boundary);
    const signedOut = await request(`${url}/theme?theme=dark`);
    expect(signedOut.status).toBe(401);
    expect(signedOut.body).toContain('You are not signed in');
    const login = await request(`${url}/login`);
    const cookie = sessionCookie(login);
    const invalid = await request(`${url}/theme?theme=purple`, { headers: { cookie } });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toContain('Invalid session data: theme:');
    const valid = await request(`${url}/theme?theme=dark`, { headers: { cookie } });
    expect(valid.status).toBe(200);
    expect(valid.json).toEqual({ theme: 'dark' });
    // The boundary answers the team's own routes as Koa does: the message as plain text.
    if (boundary) expect(invalid.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  });
});
