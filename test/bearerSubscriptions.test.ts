import { EventSource } from 'eventsource';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createBearerClient, memoryTokenStore, type TokenStore, TRPCClientError } from '../client/bearer.js';
import { protectedProcedure, router } from '../server/index.js';
import { referenceRoutes } from '../server/reference/router.js';
import { type Backend, describeEachBackend } from './helpers/backends.js';
import { shared } from './helpers/backendServer.js';
import { request, sessionCookie } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';

/**
 * SECURITY.md B2, attack 37: a bearer client's subscription over SSE, its
 * token in a header (never the URL), from Node with no cookie jar, on one
 * instance and across two over a shared store (Redis among them).
 */
const PASSWORD = 'correct horse battery';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  settled: boolean;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const made: Deferred<T> = { promise: new Promise<T>((r) => (resolve = r)), resolve: (value) => ((made.settled = true), resolve(value)), settled: false };
  return made;
}

/** Per user: each opening of the stream, and whether it ended by its session's end (its signal aborted). */
const opened = new Map<string, Deferred<boolean>[]>();
const live = router({
  ...referenceRoutes,
  feed: protectedProcedure.subscription(async function* ({ ctx, signal }) {
    const done = deferred<boolean>();
    opened.set(ctx.user.username, [...(opened.get(ctx.user.username) ?? []), done]);
    try {
      yield `hello ${ctx.user.username}`;
      await new Promise<void>((resolve) => (signal?.aborted ? resolve() : signal?.addEventListener('abort', () => resolve(), { once: true })));
    } finally {
      done.resolve(signal?.aborted ?? false);
    }
  }),
});
type LiveRouter = typeof live;

/** Resolves when the `count`-th opening of `username`'s stream has happened (an EventSource reconnects after a few seconds). */
async function openings(username: string, count: number): Promise<Deferred<boolean>[]> {
  for (let tries = 0; tries < 400; tries += 1) {
    const list = opened.get(username) ?? [];
    if (list.length >= count) return list;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${username}'s stream never opened ${count} times`);
}

function subscribe(url: string, tokens: TokenStore) {
  const { api } = createBearerClient<LiveRouter>({ url, tokens, EventSource });
  const first = deferred<string>();
  const error = deferred<unknown>();
  const data: string[] = [];
  const subscription = api.feed.subscribe(undefined, {
    onData: (value) => {
      data.push(value);
      first.resolve(value);
    },
    onError: (cause) => error.resolve(cause),
  });
  return { api, first: first.promise, error: error.promise, data, subscription };
}

describeEachBackend('a bearer client’s subscription', (backendOf) => {
  let one: TestServer;
  let two: TestServer;
  let backend: Backend;
  beforeAll(async () => {
    backend = backendOf();
    const store = await backend.open();
    // The first checks its streams hourly (so what ends one there at once came through its own session events);
    // the second every 200 ms (a session ended on another instance).
    one = await startServer({ router: live, env: backend.env, deps: { bearer: true, store: shared(store), streamCheckInterval: '1h' } });
    two = await startServer({ router: live, env: backend.env, deps: { bearer: true, store: shared(store), clock: one.clock, streamCheckInterval: '200ms' } });
  });
  afterAll(async () => {
    await one.close();
    await two.close();
  });

  let users = 0;
  async function bearerUser(): Promise<{ username: string; tokens: TokenStore }> {
    users += 1;
    const username = `sse-${backend.name}-${users}`;
    const tokens = memoryTokenStore();
    const { api } = createBearerClient<LiveRouter>({ url: one.url, tokens });
    await api.auth.register.mutate({ username, password: PASSWORD });
    return { username, tokens };
  }
  const browserOf = async (server: TestServer, username: string) =>
    sessionCookie(await request(`${server.url}/trpc/auth.login`, { body: { username, password: PASSWORD } }));

  it('subscribes with its token in a header (never the URL) and receives; the browser’s logout of its own session leaves it running', async () => {
    const { username, tokens } = await bearerUser();
    const feed = subscribe(one.url, tokens);
    expect(await feed.first).toBe(`hello ${username}`);
    const browser = await browserOf(one, username);
    expect((await request(`${one.url}/trpc/auth.logout`, { cookie: browser, body: {} })).json).toEqual({ result: { data: { loggedOut: true } } });
    // Another request of the stream's own session still reads, and its stream is still the first, open one.
    expect((await feed.api.data.query()).user.username).toBe(username);
    const list = await openings(username, 1);
    expect([list.length, list[0]!.settled]).toEqual([1, false]);
    feed.subscription.unsubscribe();
  });

  it('a logout of the bearer session (here, elsewhere) ends the stream at once; the reconnect with the old token is refused with 401 before any byte', async () => {
    const { username, tokens } = await bearerUser();
    const token = (await tokens.get('session'))!;
    const feed = subscribe(one.url, tokens);
    await feed.first;
    const logout = await request(`${one.url}/trpc/auth.logout`, { body: {}, headers: { authorization: `Bearer ${token}`, 'gatehouse-session': 'bearer' } });
    expect(logout.json).toEqual({ result: { data: { loggedOut: true } } });
    expect(await (await openings(username, 1))[0]!.promise).toBe(true);
    const error = (await feed.error) as TRPCClientError<LiveRouter>;
    expect(error).toBeInstanceOf(TRPCClientError);
    expect(error.data?.code).toBe('UNAUTHORIZED');
    feed.subscription.unsubscribe();
  });

  it('revoked from a browser’s sessions.list on the other instance: the stream ends within that instance’s check interval', async () => {
    const { username, tokens } = await bearerUser();
    const feed = subscribe(two.url, tokens);
    await feed.first;
    const browser = await browserOf(one, username);
    const listed = ((await request(`${one.url}/trpc/sessions.list`, { cookie: browser })).json as { result: { data: { id: string; carrier: string }[] } }).result.data;
    const target = listed.find((session) => session.carrier === 'bearer')!;
    expect((await request(`${one.url}/trpc/sessions.revoke`, { cookie: browser, body: { id: target.id } })).status).toBe(200);
    expect(await (await openings(username, 1))[0]!.promise).toBe(true);
    expect(((await feed.error) as TRPCClientError<LiveRouter>).data?.code).toBe('UNAUTHORIZED');
    feed.subscription.unsubscribe();
  });

  it('an invalid, ended or missing token on the SSE mount: HTTP 401 with WWW-Authenticate before any byte, not a 200 and an error event', async () => {
    const { tokens } = await bearerUser();
    const token = (await tokens.get('session'))!;
    const sse = (headers: Record<string, string>) => request(`${one.url}/trpc/feed`, { headers: { accept: 'text/event-stream', 'gatehouse-session': 'bearer', ...headers } });
    const missing = await sse({});
    expect([missing.status, missing.headers.get('www-authenticate'), missing.headers.get('content-type')?.split(';')[0]]).toEqual([401, 'Bearer', 'application/json']);
    const tampered = await sse({ authorization: `Bearer ${token.slice(0, -2)}${token.endsWith('xx') ? 'yy' : 'xx'}` });
    expect([tampered.status, tampered.headers.get('www-authenticate')]).toEqual([401, 'Bearer error="invalid_token"']);
    await request(`${one.url}/trpc/auth.logout`, { body: {}, headers: { authorization: `Bearer ${token}`, 'gatehouse-session': 'bearer' } });
    const ended = await sse({ authorization: `Bearer ${token}`, 'last-event-id': '7' });
    expect([ended.status, ended.headers.get('www-authenticate')]).toEqual([401, 'Bearer error="invalid_token"']);
  });

  it('a re-authentication over HTTP: the old id’s stream ends, and the client reconnects at once with the token it was just handed', async () => {
    const { username, tokens } = await bearerUser();
    const feed = subscribe(one.url, tokens);
    await feed.first;
    const old = (await tokens.get('session'))!;
    await feed.api.auth.reauthenticate.mutate({ password: PASSWORD });
    const renewed = (await tokens.get('session'))!;
    expect(renewed).not.toBe(old);
    const [firstOpening, secondOpening] = await openings(username, 2);
    expect(await firstOpening!.promise).toBe(true);
    // The EventSource reconnected with the new token (its options are read at each connection): a second greeting.
    for (let tries = 0; tries < 100 && feed.data.length < 2; tries += 1) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(feed.data).toEqual([`hello ${username}`, `hello ${username}`]);
    expect(secondOpening!.settled).toBe(false);
    feed.subscription.unsubscribe();
  });
}, ['memory', 'redis']);
