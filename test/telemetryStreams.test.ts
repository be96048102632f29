import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, createNodeClient } from '../client/node.js';
import { protectedProcedure, router } from '../server/index.js';
import { referenceRoutes } from '../server/reference/router.js';
import { startServer, type TestServer } from './helpers/server.js';
import { countOf, registerTelemetrySdk, type TelemetrySdk } from './helpers/telemetrySdk.js';

// Registered before the server (and so before createGatehouse).
const sdk: TelemetrySdk = registerTelemetrySdk();

const live = router({
  ...referenceRoutes,
  /** Yields once, then stays open until the client leaves. */
  feed: protectedProcedure.subscription(async function* ({ signal }) {
    yield 'hello';
    await new Promise<void>((resolve) => (signal?.aborted ? resolve() : signal?.addEventListener('abort', () => resolve(), { once: true })));
  }),
});

describe('OpenTelemetry: open streams', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer({ router: live });
  });
  afterAll(async () => {
    await srv.close();
    await sdk.shutdown();
  });

  const openStreams = async () => countOf(await sdk.collect(), 'gatehouse.streams.open');

  it('gatehouse.streams.open counts a subscription while it is open, and not after the client leaves', async () => {
    const jar = new CookieJar();
    const client = createNodeClient<typeof live>({ url: srv.url, jar, EventSource }).api;
    await client.auth.register.mutate({ username: 'stream-user', password: 'correct horse battery' });
    expect(await openStreams()).toBe(0);
    let first!: () => void;
    const arrived = new Promise<void>((resolve) => (first = resolve));
    const subscription = client.feed.subscribe(undefined, { onData: () => first() });
    await arrived;
    expect(await openStreams()).toBe(1);
    subscription.unsubscribe();
    // The server learns of the close when the socket closes: bounded polling, no fixed sleep.
    for (let attempt = 0; attempt < 100 && (await openStreams()) !== 0; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await openStreams()).toBe(0);
  });
});
