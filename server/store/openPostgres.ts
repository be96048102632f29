import type { KeyValueStore } from './keyValueStore.js';
import { namespaceOf, type OpenStoreOptions } from './storeOptions.js';
import { PostgresKeyValueStore } from './postgresKeyValueStore.js';
import { prepareSchema, tablesFor } from './postgresSchema.js';
import { importDriver, POSTGRES_DRIVER } from './storeDriver.js';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,40}$/;

/**
 * PostgreSQL through `pg`, on a pool the store owns (10 connections) with
 * connection, query and statement timeouts and an `error` listener (a
 * connection the server drops never crashes the process). The schema is
 * prepared on first use and retried until it succeeds, so the process
 * starts even while PostgreSQL is down (503 until it is back).
 */
export async function openPostgres(options: OpenStoreOptions): Promise<KeyValueStore> {
  const base = options.table ?? 'keyv';
  if (!IDENTIFIER.test(base)) throw new Error(`invalid PostgreSQL table name "${base}" (use [a-z0-9_])`);
  const { default: pg } = await importDriver(POSTGRES_DRIVER, options.url, () => import('pg'));
  const pool = new pg.Pool({
    connectionString: options.url,
    connectionTimeoutMillis: options.timeoutMs,
    query_timeout: options.timeoutMs,
    // The server gives up too, so a frozen client never leaves a statement holding locks.
    statement_timeout: options.timeoutMs,
    max: 10,
  });
  pool.on('error', (error) => options.onError?.(error));

  const tables = tablesFor(base);
  const namespace = namespaceOf(options);
  let schema: Promise<void> | undefined;
  const ensureSchema = () => {
    schema ??= prepareSchema(pool, tables, namespace).catch((error: unknown) => {
      schema = undefined; // retry on the next operation
      throw error;
    });
    return schema;
  };
  return new PostgresKeyValueStore({ pool, ensureSchema, tables, namespace, timeoutMs: options.timeoutMs });
}
