import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTRPCClient, httpBatchStreamLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import { EventSource } from 'eventsource';
import makeFetchCookie from 'fetch-cookie';
import Keygrip from 'keygrip';
import Koa from 'koa';
import { CookieJar } from 'tough-cookie';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../server/logger.js';
import { referenceRoutes as gatehouseRoutes } from '../server/reference/router.js';
import type { GatehouseContext } from '../server/trpc/context.js';
import { protectedProcedure, publicProcedure, router } from '../server/trpc/init.js';
import { koaTrpcMount } from '../server/trpc/koaMount.js';
import { parseSetCookie, request, sessionCookie } from './helpers/http.js';
import { OTHER_KEY, TEST_KEY, startServer, type TestServer } from './helpers/server.js';

// DESIGN.md trap 14: through the Koa mount, httpBatchStreamLink answers stream and SSE subscriptions deliver
// events as they happen, while Koa still writes the head (the session cookie). Order is measured by holding
// procedures on promises the test releases, never by timing.

interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
}
function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
const abortOf = (signal: AbortSignal | undefined) =>
  new Promise<void>((resolve) => (signal?.aborted ? resolve() : signal?.addEventListener('abort', () => resolve(), { once: true })));

/** What each test holds or watches on the server side; fresh per test. */
let slowRelease: Deferred<void>;
let tickReleases: Deferred<void>[];
let endlessEnded: Deferred<boolean>;
let waitingStarted: Deferred<void>;
let waitingAborted: Deferred<boolean>;
beforeEach(() => {
  slowRelease = deferred();
  tickReleases = [deferred(), deferred(), deferred()];
  endlessEnded = deferred<boolean>();
  waitingStarted = deferred();
  waitingAborted = deferred<boolean>();
});

const streamRouter = router({
  ...gatehouseRoutes,
  fast: publicProcedure.query(() => 'fast'),
  slow: publicProcedure.query(async () => {
    await slowRelease.promise;
    return 'slow';
  }),
  whoami: protectedProcedure.query(({ ctx }) => ctx.user.username),
  waitsForAbort: publicProcedure.query(async ({ signal }) => {
    waitingStarted.resolve();
    await abortOf(signal);
    waitingAborted.resolve(signal?.aborted ?? false);
    return 'aborted';
  }),
  ticks: publicProcedure.subscription(async function* () {
    for (const [i, release] of tickReleases.entries()) {
      await release.promise;
      yield i;
    }
  }),
  endless: publicProcedure.subscription(async function* ({ signal }) {
    try {
      for (let i = 0; !signal?.aborted; i += 1) {
        yield i;
        await abortOf(signal);
      }
    } finally {
      endlessEnded.resolve(signal?.aborted ?? false);
    }
  }),
  whoamiLive: protectedProcedure.subscription(async function* ({ ctx, signal }) {
    yield ctx.user.username;
    await abortOf(signal);
  }),
});
type StreamRouter = typeof streamRouter;

let srv: TestServer;
beforeAll(async () => {
  // Two keys: a cookie signed with the second is accepted and re-signed with the first, on any answer.
  srv = await startServer({ router: streamRouter, env: { SESSION_KEYS: `${TEST_KEY},${OTHER_KEY}` } });
});
afterAll(() => srv.close());

/** A typed client over the streaming links, with a cookie jar, that keeps every response it got. */
function streamingClient(jar = new CookieJar()) {
  const responses: Response[] = [];
  const withJar = makeFetchCookie(fetch, jar);
  const recording = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await withJar(input, init);
    responses.push(response);
    return response;
  };
  const url = `${srv.url}/trpc`;
  const client = createTRPCClient<StreamRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({ url, EventSource, eventSourceOptions: { fetch: recording } }),
        false: httpBatchStreamLink({ url, fetch: recording }),
      }),
    ],
  });
  return { client, responses, jar };
}

function expectStreamHeaders(response: Response | undefined, contentType: string) {
  expect(response?.status).toBe(200);
  expect(response?.headers.get('content-type')).toBe(contentType);
  expect(response?.headers.get('cache-control')).toBe('no-store, no-transform');
  expect(response?.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
}

const signWith = (key: string, id: string) => `${id}.${new Keygrip([key], 'sha256').sign(id)}`;

/** A live session whose cookie is signed with the rotated-out key, so the server re-signs it on the next answer. */
async function sessionUnderOldKey(username: string): Promise<{ jar: CookieJar; id: string }> {
  const res = await request(`${srv.url}/trpc/auth.register`, { body: { username, password: 'correct horse battery' } });
  const id = sessionCookie(res).slice('sid='.length).split('.')[0]!;
  const jar = new CookieJar();
  await jar.setCookie(`sid=${signWith(OTHER_KEY, id)}; Path=/; HttpOnly`, srv.url);
  return { jar, id };
}

describe('httpBatchStreamLink through the mount', () => {
  it('the fast result of a batch arrives while the slow one is still running, in one streamed answer', async () => {
    const { client, responses } = streamingClient();
    const arrived: string[] = [];
    const slow = client.slow.query().then((value) => arrived.push(value));
    const fast = client.fast.query().then((value) => arrived.push(value));
    await fast; // the slow query is held until released below
    expect(arrived).toEqual(['fast']);
    slowRelease.resolve();
    await slow;
    expect(arrived).toEqual(['fast', 'slow']);
    expect(responses).toHaveLength(1);
    expectStreamHeaders(responses[0], 'application/json');
  }, 10_000);

  it('a streamed answer still carries the session cookie the session layer sets (re-signed under the new key)', async () => {
    const { jar, id } = await sessionUnderOldKey('stream-batch-rotated');
    const { client, responses } = streamingClient(jar);
    expect(await client.whoami.query()).toBe('stream-batch-rotated');
    expectStreamHeaders(responses[0], 'application/json');
    const cookies = responses[0]!.headers.getSetCookie().map(parseSetCookie);
    expect(cookies.find((c) => c.name === 'sid')?.value).toBe(signWith(TEST_KEY, id));
  });

  it('mutations through the stream link are answered whole, so login and logout still set and clear the cookie', async () => {
    await request(`${srv.url}/trpc/auth.register`, { body: { username: 'stream-login', password: 'correct horse battery' } });
    const { client, responses, jar } = streamingClient();
    await client.auth.login.mutate({ username: 'stream-login', password: 'correct horse battery' });
    expect(responses[0]!.headers.getSetCookie().some((c) => c.startsWith('sid=') && !c.startsWith('sid=;'))).toBe(true);
    expect(responses[0]!.headers.get('cache-control')).toBe('no-store');
    expect(await client.whoami.query()).toBe('stream-login');
    await client.auth.logout.mutate();
    expect((await jar.getCookies(srv.url)).filter((c) => c.key === 'sid' && c.value !== '')).toEqual([]);
    await expect(client.whoami.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
  });
});

describe('SSE subscriptions through the mount', () => {
  it('deliver each event as the server yields it, one by one, then complete', async () => {
    const { client, responses } = streamingClient();
    const received: number[] = [];
    let arrival = deferred();
    const ended = deferred<unknown>();
    const subscription = client.ticks.subscribe(undefined, {
      onData: (value) => {
        received.push(value);
        arrival.resolve();
      },
      onComplete: () => ended.resolve('complete'),
      onError: (error) => ended.resolve(error),
    });
    for (const [i, release] of tickReleases.entries()) {
      arrival = deferred();
      release.resolve(); // the server yields event i only now
      await arrival.promise;
      expect(received).toEqual([0, 1, 2].slice(0, i + 1));
    }
    expect(await ended.promise).toBe('complete');
    subscription.unsubscribe();
    expectStreamHeaders(responses[0], 'text/event-stream');
  }, 10_000);

  it('an endless subscription stops once the client goes away: its signal aborts and its finally runs', async () => {
    const { client } = streamingClient();
    const first = deferred();
    const subscription = client.endless.subscribe(undefined, { onData: () => first.resolve() });
    await first.promise;
    subscription.unsubscribe();
    expect(await endlessEnded.promise).toBe(true);
    expect((await request(`${srv.url}/trpc/fast`)).status).toBe(200);
  }, 10_000);

  it('a subscription answer carries the re-signed session cookie too', async () => {
    const { jar, id } = await sessionUnderOldKey('stream-sse-rotated');
    const { client, responses } = streamingClient(jar);
    const first = deferred<string>();
    const subscription = client.whoamiLive.subscribe(undefined, { onData: (name) => first.resolve(name) });
    expect(await first.promise).toBe('stream-sse-rotated');
    subscription.unsubscribe();
    expectStreamHeaders(responses[0], 'text/event-stream');
    const cookies = responses[0]!.headers.getSetCookie().map(parseSetCookie);
    expect(cookies.find((c) => c.name === 'sid')?.value).toBe(signWith(TEST_KEY, id));
  }, 10_000);
});

describe("the request's signal", () => {
  it('aborts when the client disconnects while a (non-streamed) batch is still running', async () => {
    const controller = new AbortController();
    const pending = fetch(`${srv.url}/trpc/waitsForAbort,fast?batch=1&input={}`, { signal: controller.signal }).catch((error: unknown) => error);
    await waitingStarted.promise;
    controller.abort();
    expect(await waitingAborted.promise).toBe(true);
    expect(await pending).toBeInstanceOf(Error);
  }, 10_000);
});

describe('streamSignal: a streamed answer ends when the signal the mount is given aborts', () => {
  interface Ctx {
    koa: Koa.Context;
  }
  const t = initTRPC.context<Ctx>().create({ isDev: false });
  const bareRouter = t.router({
    fast: t.procedure.query(() => 'fast'),
    never: t.procedure.query(async ({ signal }) => {
      await abortOf(signal);
      waitingAborted.resolve(signal?.aborted ?? false);
      return 'never';
    }),
    endless: t.procedure.subscription(async function* ({ signal }) {
      try {
        for (let i = 0; !signal?.aborted; i += 1) {
          yield i;
          await abortOf(signal);
        }
      } finally {
        endlessEnded.resolve(signal?.aborted ?? false);
      }
    }),
  });

  let stop: AbortController;
  let asked = 0;
  let bare: { url: string; server: Server };
  beforeAll(async () => {
    const app = new Koa();
    app.silent = true;
    app.use(
      koaTrpcMount({
        router: bareRouter,
        createContext: ((koa: Koa.Context) => ({ koa })) as unknown as (koa: Koa.Context) => GatehouseContext,
        logger: createLogger('silent'),
        streamSignal: () => {
          asked += 1;
          return stop.signal;
        },
      }),
    );
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    bare = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
  });
  afterAll(() => {
    bare.server.closeAllConnections();
    bare.server.close();
  });
  beforeEach(() => {
    stop = new AbortController();
    asked = 0;
  });

  /** Reads a streamed body as text until it contains `text`. */
  async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, text: string): Promise<string> {
    const decoder = new TextDecoder();
    let seen = '';
    while (!seen.includes(text)) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`stream ended before ${JSON.stringify(text)}: ${seen}`);
      seen += decoder.decode(value, { stream: true });
    }
    return seen;
  }

  /** Reads to the end; resolves only if the server ended the answer cleanly (no reset). */
  async function readToEnd(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    while (!(await reader.read()).done);
  }

  it('an SSE subscription: the answer ends cleanly and the generator is stopped', async () => {
    const response = await fetch(`${bare.url}/trpc/endless`, { headers: { accept: 'text/event-stream' } });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    await readUntil(reader, 'data: 0');
    stop.abort();
    await readToEnd(reader);
    expect(await endlessEnded.promise).toBe(true);
    expect(asked).toBe(1);
  }, 10_000);

  it('a JSON-lines batch: the answer ends cleanly and the pending procedure sees its signal abort', async () => {
    const response = await fetch(`${bare.url}/trpc/fast,never?batch=1&input={}`, { headers: { 'trpc-accept': 'application/jsonl' } });
    const reader = response.body!.getReader();
    await readUntil(reader, '"fast"');
    stop.abort();
    await readToEnd(reader);
    expect(await waitingAborted.promise).toBe(true);
  }, 10_000);

  it('a signal already aborted when the stream starts ends it at once, before any event', async () => {
    stop.abort();
    const response = await fetch(`${bare.url}/trpc/endless`, { headers: { accept: 'text/event-stream' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  }, 10_000);

  it('answers that do not stream never ask for the signal', async () => {
    const batch = await fetch(`${bare.url}/trpc/fast,fast?batch=1&input={}`);
    expect(await batch.json()).toEqual([{ result: { data: 'fast' } }, { result: { data: 'fast' } }]);
    expect(asked).toBe(0);
  });
});
