import { ClusterRedisClient, isNodeRedisCluster } from './clusterRedisClient.js';
import { backoffMs } from './keepConnecting.js';
import type { KeyValueStore } from './keyValueStore.js';
import { namespaceOf, type OpenStoreOptions } from './storeOptions.js';
import type { RedisClient } from './redisClient.js';
import { RedisKeyValueStore } from './redisKeyValueStore.js';
import { plainRedisReplicaWait } from './replicaWait.js';
import { type LaneClient, ReplicaWaitLanes } from './replicaWaitLanes.js';
import { redactUrl } from './redactUrl.js';
import { isNodeRedisSentinel, SentinelRedisClient } from './sentinelRedisClient.js';
import { importDriver, REDIS_DRIVER } from './storeDriver.js';

/** Commands allowed to wait for a frozen Redis before new ones fail at once (bounds memory during a freeze). */
const MAX_QUEUED_COMMANDS = 10_000;

/**
 * node-redis client options for a connection to one Redis server, whatever
 * the topology. The offline queue is off, so while a server is unreachable
 * a command fails at once instead of queueing forever; the connect timeout
 * is the store timeout; a lost connection is retried in the background
 * (backoff capped at 1 s). A frozen server (TCP up, no answers) is cut off
 * by the per-operation deadline of `RedisKeyValueStore`.
 */
export function redisNodeOptions(timeoutMs: number) {
  return {
    disableOfflineQueue: true,
    commandsQueueMaxLength: MAX_QUEUED_COMMANDS,
    socket: { connectTimeout: timeoutMs, reconnectStrategy: backoffMs },
  };
}

/** `redisNodeOptions` for a lane of `ReplicaWaitLanes`: it does not reconnect (the next durable write opens a new one). */
export function laneNodeOptions(timeoutMs: number) {
  const node = redisNodeOptions(timeoutMs);
  return { ...node, socket: { ...node.socket, reconnectStrategy: false as const } };
}

/**
 * One Redis server (`redis://`, `rediss://`) through node-redis, with native
 * commands. The client is connected here and keeps reconnecting in the
 * background, so the process starts even while Redis is down (answering
 * 503) and recovers without a restart. `?waitReplicas=all|<n>` (and
 * `waitTimeout=<duration>`) make durable writes wait for the server's
 * replicas (`ReplicaWaitLanes`).
 */
export async function openRedis(options: OpenStoreOptions): Promise<KeyValueStore> {
  const parsed = plainRedisReplicaWait(options.url);
  if ('problem' in parsed) throw new Error(`openStore: the url ${parsed.problem} (got "${redactUrl(options.url)}")`);
  const { createClient } = await importDriver(REDIS_DRIVER, options.url, () => import('redis'));
  const client = createClient({ url: parsed.url, ...redisNodeOptions(options.timeoutMs) });
  const { wait } = parsed;
  const server = { host: 'server', port: 0 };
  const lanes =
    wait &&
    new ReplicaWaitLanes({
      wait,
      defaultTimeoutMs: options.timeoutMs,
      masterOf: () => server,
      open: () => createClient({ url: parsed.url, ...laneNodeOptions(options.timeoutMs) }) as unknown as LaneClient,
      onError: options.onError,
    });
  return redisStoreOver(client as unknown as RedisClient, options, lanes);
}

/**
 * The same store over a node-redis client you built: `createClient`,
 * `createCluster` or `createSentinel` from the `redis` package, for options
 * the URL forms (`redis+cluster://`, `redis+sentinel://`) do not cover.
 * Give it `redisNodeOptions(timeoutMs)` (as `defaults` of a cluster, as
 * `nodeClientOptions` of a sentinel client; see the README); do not connect
 * it yourself. A cluster gets the same failover handling as one opened by URL
 * (`ClusterRedisClient`), a sentinel client the same first-connection retries.
 *
 * @example
 * const store = await redisStoreFor(createSentinel({ name: 'mymaster', sentinelRootNodes: [{ host: 's1', port: 26379 }] }), { timeoutMs: 1000 });
 * const gatehouse = await createGatehouse({ ...loadConfig().gatehouse, store });
 */
export function redisStoreFor(client: unknown, options: Omit<OpenStoreOptions, 'url'>): Promise<KeyValueStore> {
  if (isNodeRedisCluster(client)) {
    const seeds = (client as { _options?: { rootNodes?: unknown[] } })._options?.rootNodes ?? [];
    return redisStoreOver(new ClusterRedisClient(client, seeds), options);
  }
  if (isNodeRedisSentinel(client)) return redisStoreOver(new SentinelRedisClient(client), options);
  return redisStoreOver(client as RedisClient, options);
}

/** Connects `client` (waiting at most one store timeout: it keeps trying in the background) and builds the store on it. */
export async function redisStoreOver(client: RedisClient, options: Omit<OpenStoreOptions, 'url'>, lanes?: ReplicaWaitLanes): Promise<KeyValueStore> {
  // node-redis emits 'error' on every failed (re)connect; unhandled, it would crash the process.
  client.on('error', (error: unknown) => options.onError?.(error));
  // Connected once, here; from then on the client owns reconnection.
  const connected = client.connect().catch((error: unknown) => options.onError?.(error));
  // A timer that keeps the process alive while it waits: the retries' own pauses do not (they must not hold a shutdown).
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([connected, new Promise((resolve) => (timer = setTimeout(resolve, options.timeoutMs)))]);
  clearTimeout(timer);

  return new RedisKeyValueStore({
    client,
    // `<namespace>::`, the prefix @keyv/redis used: keys written by earlier versions are found.
    keyPrefix: `${namespaceOf(options)}::`,
    timeoutMs: options.timeoutMs,
    lanes,
    close: async () => {
      // node-redis's close() settles only once every command sent has its reply: a frozen Redis (or a cluster
      // node still connecting) never sends it. One store timeout, then the client is dropped and close() ends.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(resolve, options.timeoutMs, 'late')));
      const closed = Promise.resolve()
        .then(() => client.close())
        .then(
          () => 'closed' as const,
          () => 'closed' as const,
        );
      if ((await Promise.race([closed, late])) === 'late') dropClient(client);
      clearTimeout(timer);
    },
  });
}

/**
 * Rejects the client's waiting commands and drops its connection. node-redis's `destroy()` throws once
 * `close()` has begun (after failing the waiting commands, before dropping the socket); the socket is then
 * left to end with the server, unref'd so it never holds a process that is shutting down.
 */
function dropClient(client: RedisClient): void {
  try {
    client.destroy();
  } catch {
    (client as { unref?: () => void }).unref?.();
  }
}
