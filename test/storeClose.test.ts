import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { openStore } from '../server/store/openStore.js';
import { StoreUnavailableError } from '../server/store/storeErrors.js';
import { PrivateRedis } from './helpers/privateRedis.js';
import { PrivateRedisCluster } from './helpers/privateRedisCluster.js';

// A graceful shutdown must end: close() gives Redis one store timeout, then drops the connection.
const TIMEOUT_MS = 300;

describe('close() on a Redis that stopped answering (a private redis-server, frozen)', () => {
  let redis: PrivateRedis;
  let store: KeyValueStore;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    store = await openStore({ url: redis.url, timeoutMs: TIMEOUT_MS });
  });
  afterAll(async () => {
    redis.thaw();
    await redis.stop();
  });

  it('with a command still waiting for its reply: the command fails with StoreUnavailableError and close() settles', async () => {
    await store.set('k', 'v', 60_000);
    redis.freeze();
    const pending = store.get('k');
    const closed = store.close().then(() => 'closed');
    await expect(pending).rejects.toBeInstanceOf(StoreUnavailableError);
    // The bound is this test's own timeout (5 s, over ten store timeouts); no timing is asserted.
    expect(await closed).toBe('closed');
  }, 5_000);
});

describe('close() on a Redis Cluster whose nodes stopped answering (a private cluster, every node frozen)', () => {
  let cluster: PrivateRedisCluster;
  let store: KeyValueStore;
  beforeAll(async () => {
    cluster = await PrivateRedisCluster.start();
    store = await openStore({ url: cluster.url, timeoutMs: TIMEOUT_MS });
  }, 120_000);
  afterAll(async () => {
    for (const node of cluster.nodes) node.thaw();
    await cluster.destroy();
  });

  it('with commands still waiting for their replies: they fail with StoreUnavailableError and close() settles', async () => {
    await store.set('k', 'v', 60_000);
    for (const node of cluster.nodes) node.freeze();
    const pending = [store.get('k'), store.set('other', 'v', 60_000)];
    const closed = store.close().then(() => 'closed');
    // Both watched from the start: one that fails while the test still waits for the other is not an unhandled rejection.
    await Promise.all(pending.map((command) => expect(command).rejects.toBeInstanceOf(StoreUnavailableError)));
    expect(await closed).toBe('closed');
  }, 5_000);
});
