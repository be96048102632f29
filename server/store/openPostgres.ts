import KeyvPostgres from '@keyv/postgres';
import { Keyv } from 'keyv';
import pg from 'pg';
import type { KeyValueStore } from './keyValueStore.js';
import { namespaceOf, type OpenStoreOptions } from './openStore.js';
import { PostgresKeyValueStore } from './postgresKeyValueStore.js';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,40}$/;
/** CREATE TABLE IF NOT EXISTS racing another process: the loser sees a duplicate, which is fine. */
const ALREADY_THERE = new Set(['23505', '42P07']);

type Rows = (sql: string, values?: unknown[]) => Promise<unknown[]>;

/**
 * @keyv/postgres keeps one module-global pool per URI: a second store with
 * the same URI shares it, and any store's `disconnect()` ends it for all,
 * with no 'error' listener on it (an idle connection dropped by the server
 * would crash the process). This adapter runs the same SQL on a pool the
 * store owns instead.
 */
class OwnPoolKeyvPostgres extends KeyvPostgres {
  constructor(options: ConstructorParameters<typeof KeyvPostgres>[0] & { rows: Rows }) {
    super(options);
    const rows = options.rows;
    this.query = (sql, values) => rows(sql, values as unknown[]);
  }

  override async connect() {
    // Called from the base constructor (before `query` is replaced) to create the table.
    const rows = (this.opts as { rows?: Rows }).rows!;
    return (sql: string, values?: unknown) => rows(sql, values as unknown[]);
  }

  override async disconnect(): Promise<void> {
    // The pool belongs to the store, which ends it.
  }
}

/**
 * PostgreSQL: Keyv's table (`keyv` by default) plus `<table>_maps`, on a
 * pool with connection and query timeouts. Schema creation is retried on
 * use, so the process starts even while PostgreSQL is down (503 until it
 * is back).
 */
export async function openPostgres(options: OpenStoreOptions): Promise<KeyValueStore> {
  const tableName = options.table ?? 'keyv';
  if (!IDENTIFIER.test(tableName)) throw new Error(`invalid PostgreSQL table name "${tableName}" (use [a-z0-9_])`);
  const table = `public.${tableName}`;
  const mapTable = `public.${tableName}_maps`;
  const pool = new pg.Pool({
    connectionString: options.url,
    connectionTimeoutMillis: options.timeoutMs,
    query_timeout: options.timeoutMs,
    // The server gives up too, so a frozen client never leaves a statement holding locks.
    statement_timeout: options.timeoutMs,
    max: 10,
  });
  pool.on('error', (error) => options.onError?.(error));

  let schema: Promise<void> | undefined;
  const ensureSchema = () => {
    schema ??= createSchema(pool, table, mapTable).catch((error: unknown) => {
      schema = undefined; // retry on the next operation
      throw error;
    });
    return schema;
  };
  const rows: Rows = async (sql, values) => {
    await ensureSchema();
    return (await pool.query(sql, values)).rows as unknown[];
  };

  const namespace = namespaceOf(options);
  const adapter = new OwnPoolKeyvPostgres({ uri: options.url, table: tableName, rows });
  const keyv = new Keyv<string>({ store: adapter, namespace, throwOnErrors: true });
  keyv.on('error', (error: unknown) => options.onError?.(error));
  return new PostgresKeyValueStore({ keyv, pool, ensureSchema, table, mapTable, namespace, timeoutMs: options.timeoutMs });
}

async function createSchema(pool: pg.Pool, table: string, mapTable: string): Promise<void> {
  const statements = [
    `CREATE TABLE IF NOT EXISTS ${table} (key VARCHAR(255) PRIMARY KEY, value TEXT)`,
    `CREATE TABLE IF NOT EXISTS ${mapTable} (
       key VARCHAR(255) NOT NULL, field VARCHAR(255) NOT NULL, value TEXT NOT NULL, expires BIGINT,
       PRIMARY KEY (key, field))`,
  ];
  for (const statement of statements) {
    try {
      await pool.query(statement);
    } catch (error) {
      if (!ALREADY_THERE.has((error as { code?: string }).code ?? '')) throw error;
    }
  }
}
