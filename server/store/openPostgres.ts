import KeyvPostgres from '@keyv/postgres';
import { Keyv } from 'keyv';
import type { KeyValueStore } from './keyValueStore.js';
import { KeyvKeyValueStore } from './keyvKeyValueStore.js';
import { NAMESPACE, type OpenStoreOptions } from './openStore.js';

/** PostgreSQL through @keyv/postgres, with connection and query timeouts. */
export async function openPostgres(options: OpenStoreOptions): Promise<KeyValueStore> {
  const adapter = new KeyvPostgres({
    uri: options.url,
    connectionTimeoutMillis: options.timeoutMs,
    query_timeout: options.timeoutMs,
    max: 10,
  } as ConstructorParameters<typeof KeyvPostgres>[0]);
  const keyv = new Keyv<string>({ store: adapter, namespace: NAMESPACE, throwOnErrors: true });
  keyv.on('error', (error: unknown) => options.onError?.(error));
  return new KeyvKeyValueStore({
    kind: 'postgres',
    keyv,
    timeoutMs: options.timeoutMs,
    ping: () => adapter.query('SELECT 1'),
    sweep: async (limit) => {
      const rows = (await adapter.query(
        `DELETE FROM keyv WHERE key IN (
           SELECT key FROM keyv
           WHERE key LIKE $1 AND (value::json->>'expires')::bigint <= $2
           LIMIT $3)
         RETURNING key`,
        [`${NAMESPACE}:%`, Date.now(), limit],
      )) as unknown[];
      return rows.length;
    },
    close: () => adapter.disconnect(),
  });
}
