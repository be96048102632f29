import KeyvRedis from '@keyv/redis';
import { Keyv } from 'keyv';
import type { KeyValueStore } from './keyValueStore.js';
import { KeyvKeyValueStore } from './keyvKeyValueStore.js';
import { NAMESPACE, type OpenStoreOptions } from './openStore.js';

/**
 * Redis through @keyv/redis. The offline queue is off, so commands fail at
 * once while Redis is unreachable instead of queueing forever; the client
 * keeps reconnecting in the background, so recovery needs no restart.
 */
export async function openRedis(options: OpenStoreOptions): Promise<KeyValueStore> {
  const adapter = new KeyvRedis(
    {
      url: options.url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: options.timeoutMs,
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1_000),
      },
    },
    { namespace: NAMESPACE, throwOnConnectError: true, throwOnErrors: true, connectionTimeout: options.timeoutMs },
  );
  const keyv = new Keyv<string>({ store: adapter, namespace: NAMESPACE, useKeyPrefix: false, throwOnErrors: true });
  keyv.on('error', (error: unknown) => options.onError?.(error));
  return new KeyvKeyValueStore({
    kind: 'redis',
    keyv,
    timeoutMs: options.timeoutMs,
    ping: async () => (await adapter.getClient()).ping(),
    close: () => adapter.disconnect(),
  });
}
