import { createCluster, createSentinel } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisNodeOptions, redisStoreFor } from '../server/index.js';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { PrivateRedisCluster } from './helpers/privateRedisCluster.js';
import { MASTER_NAME, PrivateRedisSentinel } from './helpers/privateRedisSentinel.js';

const TIMEOUT_MS = 5_000;

/** What a store built on a client of one's own must still do: plain values, add/replace, the index hash, one winner of racing adds. */
function itWorksAsAStore(storeOf: () => KeyValueStore): void {
  it('round-trips values, and add/replace keep their set-if-absent/present meaning', async () => {
    const store = storeOf();
    await store.set('a', 'one', 60_000);
    expect(await store.get('a')).toBe('one');
    expect(await store.add('a', 'two', 60_000)).toBe(false);
    expect(await store.replace('a', 'three', 60_000)).toBe(true);
    expect(await store.get('a')).toBe('three');
    await store.delete('a');
    expect(await store.replace('a', 'four', 60_000)).toBe(false);
  });

  it('keeps the session index as a hash: 50 concurrent mapSets survive, and of 20 concurrent adds one wins', async () => {
    const store = storeOf();
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.mapSet('u:x:sessions', `f${i}`, 'v', 60_000)));
    expect((await store.mapGetAll('u:x:sessions')).size).toBe(50);
    const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => store.add('race', `w${i}`, 60_000)));
    expect(wins.filter(Boolean)).toHaveLength(1);
    await store.ping();
  });
}

describe('redisStoreFor with a createSentinel client of one’s own (private master, replica, three sentinels)', () => {
  let setup: PrivateRedisSentinel;
  let store: KeyValueStore;
  beforeAll(async () => {
    setup = await PrivateRedisSentinel.start();
    const client = createSentinel({
      name: MASTER_NAME,
      sentinelRootNodes: setup.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
      nodeClientOptions: { ...redisNodeOptions(TIMEOUT_MS), socket: { ...redisNodeOptions(TIMEOUT_MS).socket, reconnectStrategy: false } },
    } as Parameters<typeof createSentinel>[0]);
    store = await redisStoreFor(client, { timeoutMs: TIMEOUT_MS, namespace: 'sentinel-own-client' });
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await setup?.destroy();
  });
  itWorksAsAStore(() => store);
});

describe('redisStoreFor with a createCluster client of one’s own (private cluster)', () => {
  let cluster: PrivateRedisCluster;
  let store: KeyValueStore;
  beforeAll(async () => {
    cluster = await PrivateRedisCluster.start();
    const client = createCluster({
      rootNodes: cluster.nodes.slice(0, 3).map((node) => ({ socket: { host: '127.0.0.1', port: node.port } })),
      defaults: redisNodeOptions(TIMEOUT_MS),
    });
    store = await redisStoreFor(client, { timeoutMs: TIMEOUT_MS, namespace: 'cluster-own-client' });
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await cluster?.destroy();
  });
  itWorksAsAStore(() => store);
});
