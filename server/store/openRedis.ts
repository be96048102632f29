import type { KeyValueStore } from './keyValueStore.js';
import { namespaceOf, type OpenStoreOptions } from './openStore.js';
import type { RedisClient } from './redisClient.js';
import { RedisKeyValueStore } from './redisKeyValueStore.js';
import { importDriver, REDIS_DRIVER } from './storeDriver.js';

/** Commands allowed to wait for a frozen Redis before new ones fail at once (bounds memory during a freeze). */
const MAX_QUEUED_COMMANDS = 10_000;

/**
 * Redis through node-redis (`redis`), with native commands.
 *
 * Outage safety: the offline queue is off, so while Redis is unreachable a
 * command fails at once instead of queueing forever; a frozen Redis (TCP up,
 * no answers) is cut off by the per-operation deadline (`timeoutMs`). The
 * client is connected here and keeps reconnecting in the background (capped
 * backoff), so the process starts even while Redis is down (answering 503)
 * and recovers without a restart.
 */
export async function openRedis(options: OpenStoreOptions): Promise<KeyValueStore> {
  const { createClient } = await importDriver(REDIS_DRIVER, options.url, () => import('redis'));
  const client = createClient({
    url: options.url,
    disableOfflineQueue: true,
    commandsQueueMaxLength: MAX_QUEUED_COMMANDS,
    socket: {
      connectTimeout: options.timeoutMs,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1_000),
    },
  });
  return connect(client as unknown as RedisClient, options);
}

/**
 * The same store over a node-redis client you built, for Redis Cluster
 * (`createCluster`) or Sentinel (`createSentinel`) from the `redis`
 * package, which a URL cannot describe. Give the client
 * `disableOfflineQueue: true` and a `connectTimeout` (see the README); do
 * not connect it yourself.
 *
 * @example
 * const store = await redisStoreFor(createSentinel({ name: 'mymaster', sentinelRootNodes: [{ host: 's1', port: 26379 }] }), { timeoutMs: 1000 });
 * const gatehouse = await createGatehouse(loadConfig(), { store });
 */
export function redisStoreFor(client: unknown, options: Omit<OpenStoreOptions, 'url'>): Promise<KeyValueStore> {
  return connect(client as RedisClient, options);
}

async function connect(client: RedisClient, options: Omit<OpenStoreOptions, 'url'>): Promise<KeyValueStore> {
  // node-redis emits 'error' on every failed (re)connect; unhandled, it would crash the process.
  client.on('error', (error: unknown) => options.onError?.(error));
  // Connected once, here; from then on the client owns reconnection.
  const connected = client.connect().catch((error: unknown) => options.onError?.(error));
  await Promise.race([connected, new Promise((resolve) => setTimeout(resolve, options.timeoutMs).unref())]);

  return new RedisKeyValueStore({
    client,
    // `<namespace>::`, the prefix @keyv/redis used: keys written by earlier versions are found.
    keyPrefix: `${namespaceOf(options)}::`,
    timeoutMs: options.timeoutMs,
    close: async () => {
      if (!client.isOpen) return;
      // A frozen Redis never answers QUIT: give it one deadline, then drop the socket.
      const timer = setTimeout(() => client.destroy(), options.timeoutMs);
      await client.close().catch(() => undefined);
      clearTimeout(timer);
    },
  });
}
