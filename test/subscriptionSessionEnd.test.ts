import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { EventSource } from 'eventsource';
import Koa from 'koa';
import { CookieJar, createNodeClient, TRPCClientError } from '../client/node.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, createLogger, openStore, protectedProcedure, router } from '../server/index.js';
import { referenceRoutes } from '../server/reference/router.js';
import { shared } from './helpers/backendServer.js';
import { request, sessionCookie } from './helpers/http.js';
import { startServer, TEST_KEY, type TestServer } from './helpers/server.js';

// Issue 11 §5: an SSE subscription's session is checked when it opens, and logging out or revoking the session
// ends its open subscriptions: at once on the same instance, within the check interval from another one.
interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  return { promise: new Promise<T>((r) => (resolve = r)), resolve };
}

const ended = new Map<string, Deferred<boolean>>();
const live = router({
  ...referenceRoutes,
  /** An endless subscription of the signed-in user: yields once, then waits until it is ended. */
  feed: protectedProcedure.subscription(async function* ({ ctx, signal }) {
    const done = ended.get(ctx.user.username) ?? deferred<boolean>();
    ended.set(ctx.user.username, done);
    try {
      yield `hello ${ctx.user.username}`;
      await new Promise<void>((resolve) => (signal?.aborted ? resolve() : signal?.addEventListener('abort', () => resolve(), { once: true })));
    } finally {
      done.resolve(signal?.aborted ?? false);
    }
  }),
});
type LiveRouter = typeof live;

/** Gatehouse's typed Node client, subscriptions over SSE with the jar's cookie. */
const clientFor = (url: string, jar: CookieJar) => createNodeClient<LiveRouter>({ url, jar, EventSource }).api;

/** Opens `feed` and resolves once its first event arrived; `error` resolves if the stream ends in an error. */
function openFeed(client: ReturnType<typeof clientFor>) {
  const first = deferred<string>();
  const error = deferred<unknown>();
  const subscription = client.feed.subscribe(undefined, { onData: (value) => first.resolve(value), onError: (cause) => error.resolve(cause) });
  return { first: first.promise, error: error.promise, subscription };
}

describe('a subscription and the session it was opened with', () => {
  let one: TestServer;
  let two: TestServer;
  beforeAll(async () => {
    const store = await openStore({ url: 'memory://', timeoutMs: 1000 });
    // Two instances on one store. The first checks its open streams only hourly, so anything that ends one there
    // at once came through its own session events; the second checks every 200 ms.
    one = await startServer({ router: live, deps: { store: shared(store), streamCheckInterval: '1h' } });
    two = await startServer({ router: live, deps: { store: shared(store), clock: one.clock, streamCheckInterval: '200ms' } });
  });
  afterAll(async () => {
    await one.close();
    await two.close();
  });

  async function signedIn(server: TestServer, username: string) {
    const jar = new CookieJar();
    const res = await request(`${server.url}/trpc/auth.register`, { body: { username, password: 'correct horse battery' } });
    await jar.setCookie(`${sessionCookie(res)}; Path=/`, server.url);
    return { jar, cookie: sessionCookie(res) };
  }

  it('without an EventSource (Node 20 has none), subscribing fails with the fix, not tRPC’s "use httpSubscriptionLink"', async () => {
    const global = globalThis as { EventSource?: unknown };
    const saved = global.EventSource;
    delete global.EventSource;
    try {
      const error = deferred<unknown>();
      const { api } = createNodeClient<LiveRouter>({ url: one.url, jar: new CookieJar() });
      const subscription = api.feed.subscribe(undefined, { onError: (cause) => error.resolve(cause) });
      const cause = await error.promise;
      subscription.unsubscribe();
      expect(cause).toBeInstanceOf(TRPCClientError);
      expect((cause as Error).message).toBe(
        'Subscriptions need an EventSource, and this runtime has none (Node 20): install the eventsource package and pass it, createGatehouseClient({ EventSource }) or createNodeClient({ EventSource }), with import { EventSource } from "eventsource".',
      );
    } finally {
      if (saved !== undefined) global.EventSource = saved;
    }
  });

  it('is checked when the stream opens: without a session the subscription is refused with UNAUTHORIZED', async () => {
    const { error } = openFeed(clientFor(one.url, new CookieJar()));
    const cause = await error;
    expect(cause).toBeInstanceOf(TRPCClientError);
    expect((cause as TRPCClientError<LiveRouter>).data?.code).toBe('UNAUTHORIZED');
  });

  it('logging out on the same instance ends the open subscription at once: its signal aborts and its finally runs', async () => {
    const { jar, cookie } = await signedIn(one, 'sub-logout');
    const feed = openFeed(clientFor(one.url, jar));
    expect(await feed.first).toBe('hello sub-logout');
    const logout = await request(`${one.url}/trpc/auth.logout`, { cookie, body: {} });
    expect(logout.json).toEqual({ result: { data: { loggedOut: true } } });
    expect(await ended.get('sub-logout')!.promise).toBe(true);
    // The client's EventSource reconnects with the dead cookie and is refused: the subscription stops.
    expect(((await feed.error) as TRPCClientError<LiveRouter>).data?.code).toBe('UNAUTHORIZED');
    feed.subscription.unsubscribe();
  });

  // Issue 18 §5, item 9: a re-authentication rotates the id, and the old id's streams end with it at once — not at
  // the next periodic check, which on this instance comes only after an hour.
  it('re-authenticating from another tab ends the stream opened with the old cookie at once, without the periodic check; its reconnect with the old cookie is refused', async () => {
    const { jar, cookie } = await signedIn(one, 'sub-reauth');
    const feed = openFeed(clientFor(one.url, jar));
    expect(await feed.first).toBe('hello sub-reauth');
    const renewed = await request(`${one.url}/trpc/auth.reauthenticate`, { cookie, body: { password: 'correct horse battery' } });
    expect(renewed.status).toBe(200);
    expect(sessionCookie(renewed)).not.toBe(cookie);
    expect(await ended.get('sub-reauth')!.promise).toBe(true);
    expect(((await feed.error) as TRPCClientError<LiveRouter>).data?.code).toBe('UNAUTHORIZED');
    feed.subscription.unsubscribe();
  });

  it('revoked from another instance: the stream on this one ends within the check interval', async () => {
    const { jar } = await signedIn(two, 'sub-revoke');
    const feed = openFeed(clientFor(two.url, jar));
    expect(await feed.first).toBe('hello sub-revoke');
    const other = sessionCookie(await request(`${one.url}/trpc/auth.login`, { body: { username: 'sub-revoke', password: 'correct horse battery' } }));
    const revoked = await request(`${one.url}/trpc/sessions.revokeOthers`, { cookie: other, body: {} });
    expect(revoked.json).toEqual({ result: { data: { endedSessions: 1 } } });
    expect(await ended.get('sub-revoke')!.promise).toBe(true);
    feed.subscription.unsubscribe();
  });

  it('a stream does not hold back other requests of the same session: a login and a logout answer with their cookies meanwhile', async () => {
    const { jar, cookie } = await signedIn(one, 'sub-parallel');
    const feed = openFeed(clientFor(one.url, jar));
    await feed.first;
    const second = await request(`${one.url}/trpc/auth.login`, { body: { username: 'sub-parallel', password: 'correct horse battery' } });
    expect(second.setCookies.filter((line) => line.startsWith('sid='))).toHaveLength(1);
    const out = await request(`${one.url}/trpc/auth.logout`, { cookie: sessionCookie(second), body: {} });
    expect(out.setCookies[0]).toMatch(/^sid=;/);
    // The stream of the first session is still open.
    expect((await request(`${one.url}/trpc/auth.me`, { cookie })).json).not.toEqual({ result: { data: null } });
    feed.subscription.unsubscribe();
    expect(await ended.get('sub-parallel')!.promise).toBe(true);
  });
});

describe('a client that leaves a stream', () => {
  it('is no server fault: Koa’s default error handler prints nothing, and the app’s error listeners still see the premature close', async () => {
    const gatehouse = await createGatehouse({ keys: [TEST_KEY], cookie: { secure: false }, logger: createLogger('silent') });
    const app = new Koa(); // not silent, and no error listener of its own: Koa's default handler prints what it gets
    app.use(gatehouse.session());
    app.use(gatehouse.trpc({ router: live }));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    // Listening made Koa install its default handler; an observer added now runs next to it.
    const reported = new Promise<string | undefined>((resolve) => app.on('error', (error: { code?: string }) => resolve(error.code)));
    const printed: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void printed.push(args.join(' '));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const jar = new CookieJar();
      const res = await request(`${url}/trpc/auth.register`, { body: { username: 'leaver', password: 'correct horse battery' } });
      await jar.setCookie(`${sessionCookie(res)}; Path=/`, url);
      const feed = openFeed(clientFor(url, jar));
      await feed.first;
      feed.subscription.unsubscribe();
      expect(await ended.get('leaver')!.promise).toBe(true);
      expect(await reported).toBe('ERR_STREAM_PREMATURE_CLOSE');
      expect(printed.filter((line) => line.includes('Premature close'))).toEqual([]);
    } finally {
      console.error = original;
      server.closeAllConnections();
      server.close();
      await gatehouse.close();
    }
  });
});
