import type { KeyValueStore } from './keyValueStore.js';
import type { OpenStoreOptions } from './storeOptions.js';
import { MemoryKeyValueStore } from './memoryKeyValueStore.js';
import { scrubErrorInPlace, secretScrubber } from './secretScrubber.js';
import { storeUrlProblem } from './storeUrl.js';

export type { OpenStoreOptions } from './storeOptions.js';

/**
 * Opens the store that `SESSION_STORE_URL` names. Each backend's module,
 * and its driver package, is loaded only when its URL is used. A URL that
 * `SESSION_STORE_URL` would refuse is refused here too, before anything is
 * opened, with the same message (which never quotes a password); an error a
 * driver throws while opening has the URL's secrets scrubbed from it.
 *
 * @example await openStore({ url: 'sqlite://data/gatehouse.sqlite', timeoutMs: 1000 })
 */
export async function openStore(options: OpenStoreOptions): Promise<KeyValueStore> {
  if (!(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
    throw new TypeError(`openStore(): options.timeoutMs is required, the deadline of each store operation in ms: openStore({ url, timeoutMs: 1000 }); got ${String(options.timeoutMs)}`);
  }
  const problem = storeUrlProblem(options.url);
  if (problem !== undefined) throw new Error(`openStore: the url ${problem}`);
  try {
    return await openBackend(options);
  } catch (error) {
    // Node's "Invalid URL" (thrown by node-redis for `redis://app:s3cret@host:port6379`) keeps the whole URL in `input`.
    throw scrubErrorInPlace(error, secretScrubber(options.url));
  }
}

async function openBackend(options: OpenStoreOptions): Promise<KeyValueStore> {
  // A known scheme, followed by "://" (storeUrlProblem).
  const scheme = options.url.slice(0, options.url.indexOf(':'));
  switch (scheme) {
    case 'memory':
      return new MemoryKeyValueStore();
    case 'sqlite': {
      const { openSqlite } = await import('./openSqlite.js');
      return openSqlite(options);
    }
    case 'redis':
    case 'rediss': {
      const { openRedis } = await import('./openRedis.js');
      return openRedis(options);
    }
    case 'redis+cluster':
    case 'rediss+cluster': {
      const { openRedisCluster } = await import('./openRedisCluster.js');
      return openRedisCluster(options);
    }
    case 'redis+sentinel':
    case 'rediss+sentinel': {
      const { openRedisSentinel } = await import('./openRedisSentinel.js');
      return openRedisSentinel(options);
    }
    case 'postgres':
    case 'postgresql': {
      const { openPostgres } = await import('./openPostgres.js');
      return openPostgres(options);
    }
    default:
      throw new Error(`openStore: no store for ${scheme}:// URLs`);
  }
}
