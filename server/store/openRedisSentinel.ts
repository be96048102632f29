import type { KeyValueStore } from './keyValueStore.js';
import type { OpenStoreOptions } from './storeOptions.js';
import { laneNodeOptions, redisNodeOptions, redisStoreOver } from './openRedis.js';
import { type LaneClient, type RedisAddress, ReplicaWaitLanes } from './replicaWaitLanes.js';
import { parseRedisTopologyUrl } from './redisTopologyUrl.js';
import { type NodeRedisSentinel, SentinelRedisClient } from './sentinelRedisClient.js';
import { importDriver, REDIS_DRIVER } from './storeDriver.js';

/**
 * Redis behind Sentinel from
 * `redis+sentinel://[user:password@]host:26379[,host:26379…]/<master name>`
 * (`rediss+…` for TLS; `?sentinelUsername=…&sentinelPassword=…` when the
 * sentinels have credentials of their own) through node-redis's
 * `createSentinel`, which asks the sentinels for the master and follows its
 * failovers. Commands go to the master only. `&waitReplicas=all|<n>`:
 * durable writes go to the current master on a connection of their own,
 * followed there by a `WAIT` (`ReplicaWaitLanes`).
 *
 * The master connection does not reconnect by itself: when it drops,
 * node-redis asks the sentinels again and connects to whichever master they
 * name. A connection that kept retrying the dead address would hold that
 * re-check (and every command waiting on it) until the old master came
 * back, even after the sentinels had promoted the replica.
 */
export async function openRedisSentinel(options: OpenStoreOptions): Promise<KeyValueStore> {
  const url = parseRedisTopologyUrl(options.url);
  if (url.kind !== 'sentinel') throw new Error(`openRedisSentinel needs a redis+sentinel:// URL`);
  const { createClient, createSentinel } = await importDriver(REDIS_DRIVER, options.url, () => import('redis'));
  const node = redisNodeOptions(options.timeoutMs);
  const tls = url.tls ? { tls: true as const } : {};
  const sentinel = createSentinel({
    name: url.masterName,
    sentinelRootNodes: url.nodes.map(({ host, port }) => ({ host, port })),
    nodeClientOptions: { ...node, username: url.username, password: url.password, socket: { ...node.socket, ...tls, reconnectStrategy: false } },
    sentinelClientOptions: {
      username: url.sentinelUsername,
      password: url.sentinelPassword,
      // No socket timeout: the sentinel connection that listens for failovers is idle by design.
      socket: { connectTimeout: options.timeoutMs, ...tls },
    },
  } as Parameters<typeof createSentinel>[0]);
  const client = sentinel as unknown as NodeRedisSentinel;
  const { wait } = url;
  const lane = laneNodeOptions(options.timeoutMs);
  const credentials = {
    ...(url.username === undefined ? {} : { username: url.username }),
    ...(url.password === undefined ? {} : { password: url.password }),
  };
  const lanes =
    wait &&
    new ReplicaWaitLanes({
      wait,
      defaultTimeoutMs: options.timeoutMs,
      // The master the sentinels named last; after a failover the old lane fails (its server is gone or a replica) and the next one goes here.
      masterOf: () => client.getMasterNode() as RedisAddress | undefined,
      open: ({ host, port }) => createClient({ ...lane, ...credentials, socket: { ...lane.socket, host, port, ...tls } }) as unknown as LaneClient,
      onError: options.onError,
    });
  return redisStoreOver(new SentinelRedisClient(client), options, lanes);
}
