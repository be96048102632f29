import { ClusterRedisClient, type NodeRedisCluster } from './clusterRedisClient.js';
import type { KeyValueStore } from './keyValueStore.js';
import type { OpenStoreOptions } from './storeOptions.js';
import { clusterKeySlot } from './clusterKeySlot.js';
import { laneNodeOptions, redisNodeOptions, redisStoreOver } from './openRedis.js';
import { type LaneClient, type RedisAddress, ReplicaWaitLanes } from './replicaWaitLanes.js';
import { parseRedisTopologyUrl } from './redisTopologyUrl.js';
import { importDriver, REDIS_DRIVER } from './storeDriver.js';

/**
 * Redis Cluster from `redis+cluster://[user:password@]host:port[,host:port…]`
 * (`rediss+cluster://` for TLS) through node-redis's `createCluster`. The
 * hosts are seeds: any reachable one tells the client the whole map.
 * Commands go to masters only (a replica may lag behind a write just
 * acknowledged). Every node connection has the outage rules of a single
 * Redis (`redisNodeOptions`); `ClusterRedisClient` adds retries of the
 * first connection and follows failovers. `?waitReplicas=all|<n>`: each
 * durable write goes to its key's master on a connection of that master's
 * own, followed there by a `WAIT` (`ReplicaWaitLanes`).
 */
export async function openRedisCluster(options: OpenStoreOptions): Promise<KeyValueStore> {
  const url = parseRedisTopologyUrl(options.url);
  if (url.kind !== 'cluster') throw new Error(`openRedisCluster needs a redis+cluster:// URL`);
  const { createClient, createCluster } = await importDriver(REDIS_DRIVER, options.url, () => import('redis'));
  const node = redisNodeOptions(options.timeoutMs);
  const tls = url.tls ? { tls: true as const } : {};
  // The seeds' socket timeout applies only to the short-lived connections that read the slot map, so that
  // reading it from a frozen node gives up (see ClusterTopology); the nodes' own connections idle freely.
  const seeds = url.nodes.map(({ host, port }) => ({ socket: { host, port, socketTimeout: options.timeoutMs, ...tls } }));
  const cluster = createCluster({
    rootNodes: seeds,
    defaults: {
      ...node,
      ...(url.username === undefined ? {} : { username: url.username }),
      ...(url.password === undefined ? {} : { password: url.password }),
      socket: { ...node.socket, ...tls },
    },
    useReplicas: false,
  });
  const client = cluster as unknown as NodeRedisCluster;
  const { wait } = url;
  const credentials = {
    ...(url.username === undefined ? {} : { username: url.username }),
    ...(url.password === undefined ? {} : { password: url.password }),
  };
  const lane = laneNodeOptions(options.timeoutMs);
  const lanes =
    wait &&
    new ReplicaWaitLanes({
      wait,
      defaultTimeoutMs: options.timeoutMs,
      // The master of the key's slot as the client's slot map has it (node-redis would send a keyless WAIT to any node).
      masterOf: (key) => (client.slots[clusterKeySlot(key)] as { master?: RedisAddress } | undefined)?.master,
      open: ({ host, port }) => createClient({ ...lane, ...credentials, socket: { ...lane.socket, host, port, ...tls } }) as unknown as LaneClient,
      onError: options.onError,
    });
  return redisStoreOver(new ClusterRedisClient(client, seeds), options, lanes);
}
