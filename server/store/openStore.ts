import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Keyv } from 'keyv';
import type { KeyValueStore } from './keyValueStore.js';
import { KeyvKeyValueStore } from './keyvKeyValueStore.js';
import { MemoryKeyValueStore } from './memoryKeyValueStore.js';

export interface OpenStoreOptions {
  url: string;
  /** Deadline for every store operation, in ms. */
  timeoutMs: number;
  /** Called with backend errors (connection drops, …) for logging. */
  onError?: (error: unknown) => void;
  /** Prefix of every key (default `gatehouse`): lets several apps or test runs share one Redis/Postgres. */
  namespace?: string;
  /** PostgreSQL only: the table (default `keyv`; maps go to `<table>_maps`). */
  table?: string;
}

/** Every key Gatehouse writes starts with this namespace unless told otherwise. */
export const NAMESPACE = 'gatehouse';

export const namespaceOf = (options: { namespace?: string | undefined }) => options.namespace ?? NAMESPACE;

/** `prefix%` for SQL LIKE, with LIKE's wildcards in the prefix escaped (`\` is the escape character). */
export const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, '\\$&')}%`;

/**
 * Opens the store that `SESSION_STORE_URL` names.
 *
 * @example await openStore({ url: 'sqlite://data/gatehouse.sqlite', timeoutMs: 1000 })
 */
export async function openStore(options: OpenStoreOptions): Promise<KeyValueStore> {
  const scheme = options.url.slice(0, options.url.indexOf(':'));
  switch (scheme) {
    case 'memory':
      return openMemory();
    case 'sqlite':
      return openSqlite(options);
    case 'redis':
    case 'rediss': {
      const { openRedis } = await import('./openRedis.js');
      return openRedis(options);
    }
    case 'postgres':
    case 'postgresql': {
      const { openPostgres } = await import('./openPostgres.js');
      return openPostgres(options);
    }
    default:
      throw new Error(`unsupported SESSION_STORE_URL scheme "${scheme}"`);
  }
}

function watchErrors(keyv: Keyv<string>, onError?: (error: unknown) => void): Keyv<string> {
  // Keyv re-emits backend errors; an unhandled 'error' must never crash the process.
  keyv.on('error', (error: unknown) => onError?.(error));
  return keyv;
}

function openMemory(): KeyValueStore {
  return new MemoryKeyValueStore();
}

async function openSqlite(options: OpenStoreOptions): Promise<KeyValueStore> {
  const { default: KeyvSqlite } = await import('@keyv/sqlite');
  const path = options.url.replace(/^sqlite:\/\//, '');
  if (path !== ':memory:' && path !== '') mkdirSync(dirname(path), { recursive: true });
  const adapter = new KeyvSqlite({ uri: `sqlite://${path}`, busyTimeout: options.timeoutMs });
  // WAL lets readers proceed while a write is in progress.
  await adapter.query('PRAGMA journal_mode = WAL');
  const namespace = namespaceOf(options);
  const keyv = watchErrors(new Keyv<string>({ store: adapter, namespace, throwOnErrors: true }), options.onError);
  return new KeyvKeyValueStore({
    kind: 'sqlite',
    keyv,
    timeoutMs: options.timeoutMs,
    ping: () => adapter.query('SELECT 1'),
    // Keyv expires SQL rows only when they are read again; abandoned sessions would pile up.
    sweep: async (limit) => {
      const rows = (await adapter.query(
        `DELETE FROM keyv WHERE key IN (
           SELECT key FROM keyv
           WHERE key LIKE ? ESCAPE '\\' AND json_valid(value) AND json_extract(value, '$.expires') <= ?
           LIMIT ?)
         RETURNING key`,
        likePrefix(`${namespace}:`),
        Date.now(),
        limit,
      )) as unknown[];
      return rows.length;
    },
    close: () => adapter.disconnect(),
  });
}
