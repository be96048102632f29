import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Account, type AccountsAdapter, createGatehouse, createLogger, initGatehouse } from '../server/index.js';
import { request, sessionCookie } from './helpers/http.js';
import { TEST_KEY } from './helpers/server.js';

// A team's procedure that changes session data in place (the natural way to write it): nothing it touches may be
// shared with another session, the schema's defaults or a cached record, whether its change is kept or refused.
const user = z.object({ id: z.string(), name: z.string() });
const gh = initGatehouse({
  user,
  sessionData: z.object({ cart: z.object({ lines: z.array(z.string()).max(3) }).default({ lines: [] }) }),
  credentials: z.object({ username: z.string(), password: z.string() }),
});
const appRouter = gh.router({
  ...gh.routes,
  cart: gh.protectedProcedure.query(({ ctx }) => ctx.session.current.data.cart.lines),
  addInPlace: gh.protectedProcedure.input(z.object({ line: z.string() })).mutation(({ ctx, input }) =>
    ctx.session.update((data) => {
      data.cart.lines.push(input.line);
      return data;
    }),
  ),
  mutateCurrent: gh.protectedProcedure.mutation(({ ctx }) => {
    // @ts-expect-error: frozen, and typed so; what JavaScript (or a cast) meets at run time is checked below
    ctx.session.current.data.cart.lines.push('sneaked in');
    return 'changed';
  }),
});

const accounts: AccountsAdapter<z.infer<typeof user>> = {
  async authenticate(login) {
    return { user: { id: `u-${login}`, name: login }, version: 1 } satisfies Account<z.infer<typeof user>>;
  },
  async findById(id) {
    return { user: { id, name: id.slice(2) }, version: 1 };
  },
};

let url: string;
let close: () => Promise<void>;
beforeAll(async () => {
  const gatehouse = await createGatehouse(gh, { keys: [TEST_KEY], cookie: { secure: false }, accounts, logger: createLogger('silent') });
  const app = new Koa();
  app.silent = true;
  app.use(gatehouse.session()).use(gatehouse.trpc({ router: appRouter }));
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

const call = (path: string, body: unknown, cookie?: string) => request(`${url}/trpc/${path}`, { body, ...(cookie ? { headers: { cookie } } : {}) });
const get = (path: string, cookie: string) => request(`${url}/trpc/${path}`, { headers: { cookie } });
const signIn = async (name: string) => sessionCookie(await call('auth.login', { username: name, password: 'x' }));

describe('session data is never shared', () => {
  it('a change made in place to one session’s data does not reach the schema’s default: the next user’s new session starts empty', async () => {
    const mallory = await signIn('mallory');
    expect((await call('addInPlace', { line: 'injected-by-mallory' }, mallory)).json).toMatchObject({ result: { data: { cart: { lines: ['injected-by-mallory'] } } } });
    const alice = await signIn('alice');
    expect((await get('cart', alice)).json).toEqual({ result: { data: [] } });
    expect((await get('cart', mallory)).json).toEqual({ result: { data: ['injected-by-mallory'] } });
  });

  it('a change the schema refuses (a 4th line) is 400 and leaves the session’s data as it was, in this process too', async () => {
    const bob = await signIn('bob');
    for (const line of ['a', 'b', 'c']) expect((await call('addInPlace', { line }, bob)).status).toBe(200);
    const refused = await call('addInPlace', { line: 'd' }, bob);
    expect(refused.status).toBe(400);
    expect((await get('cart', bob)).json).toEqual({ result: { data: ['a', 'b', 'c'] } });
    // Still writable: the cached record was not left in a state the schema refuses.
    expect((await call('addInPlace', { line: 'd' }, bob)).status).toBe(400);
    expect((await get('cart', bob)).json).toEqual({ result: { data: ['a', 'b', 'c'] } });
  });

  it('the data a procedure reads is frozen: changing it in place throws instead of silently changing what other requests read', async () => {
    const carol = await signIn('carol');
    expect((await call('addInPlace', { line: 'tea' }, carol)).status).toBe(200);
    expect((await call('mutateCurrent', {}, carol)).status).toBe(500);
    expect((await get('cart', carol)).json).toEqual({ result: { data: ['tea'] } });
  });
});

describe('a decoded record shares nothing with the schema', () => {
  it('data filled from a nested default (a field added after the record was written) is each record’s own, and the schema’s default stays writable', async () => {
    const { SessionCodec } = await import('../server/session/sessionCodec.js');
    const data = z.object({ prefs: z.object({ tags: z.array(z.string()) }).default({ tags: [] }) });
    const codec = new SessionCodec(z.object({ id: z.string() }), data);
    const written = (id: string) => JSON.stringify([2, { id }, {}, 1, 1, 1, null]);
    const a = codec.decode(written('u1'))!.record.data as { prefs: { tags: string[] } };
    const b = codec.decode(written('u2'))!.record.data as { prefs: { tags: string[] } };
    expect(a.prefs).not.toBe(b.prefs);
    expect(Object.isFrozen(a.prefs.tags)).toBe(true);
    const fresh = data.parse({});
    expect(Object.isFrozen(fresh.prefs.tags)).toBe(false);
    expect(() => fresh.prefs.tags.push('mine')).not.toThrow();
  });
});
