import type BetterSqlite3 from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { KeyValueStore } from './keyValueStore.js';
import { namespaceOf, type OpenStoreOptions } from './storeOptions.js';
import { redactedUrlShows } from './redactUrl.js';
import { SqliteKeyValueStore } from './sqliteKeyValueStore.js';
import { SqliteReadPin } from './sqliteReadPin.js';
import { createSchema, migrateLegacyRows } from './sqliteSchema.js';
import { importDriver, SQLITE_DRIVER } from './storeDriver.js';

/**
 * SQLite's own busy wait, `PRAGMA busy_timeout`: none. better-sqlite3 is
 * synchronous, so SQLite waiting for another process's write lock would stop
 * the event loop — every request of the process — for as long as it waits
 * (its busy handler sleeps in steps of 1 ms and more, so a short wait is no
 * finer either). A statement that finds the file locked fails at once
 * instead, having done nothing, and the store tries it again after a short
 * jittered pause, off the event loop, until the store timeout
 * (`SESSION_STORE_TIMEOUT`), then answers 503. Other writers hold the lock
 * for one short statement or transaction, so such waits are rare and brief.
 */
const BUSY_TIMEOUT_MS = 0;

/** Opening (schema, a one-off migration of an old file) may wait longer: nothing is being served yet. */
const OPEN_BUSY_TIMEOUT_MS = 30_000;

/**
 * `PRAGMA synchronous` in WAL mode, for the writes that start or extend
 * something (a login, a registration, an idle extension, a throttle count).
 * `normal` (default): committed to the WAL without an fsync, so it survives
 * a crash or `kill -9` of the process, while a power cut or an OS crash may
 * lose the last of them (since the last fsync; the file stays consistent):
 * a user who had just signed in signs in again. `full`: every commit is
 * synced. Whatever the setting, the writes that end something or change an
 * account — a logout, a revocation, a password change, a disabled account —
 * are committed with `FULL` before they are answered (one fsync per batch),
 * so an ended session never comes back, and their fsync persists every
 * earlier write too.
 * Writes are group-committed either way (sqliteKeyValueStore.ts). `off`
 * (corruption on power loss) is refused, and so is `extra` (in WAL mode it
 * is `full`).
 */
export const SQLITE_SYNCHRONOUS = ['full', 'normal'] as const;
export type SqliteSynchronous = (typeof SQLITE_SYNCHRONOUS)[number];

export interface SqliteUrl {
  /** File path; `:memory:` or empty for a private in-memory database. */
  readonly path: string;
  readonly synchronous: SqliteSynchronous;
  /** `readPin=off` opens the store without its read pin (sqliteReadPin.ts); default on. */
  readonly readPin: boolean;
}

const PARAMETERS = 'synchronous=full|normal, readPin=on|off';

/**
 * Reads `sqlite://<path>[?synchronous=full|normal][&readPin=on|off]`. The
 * path is taken as written (no percent-decoding) and is relative to the
 * working directory unless it starts with "/" (`sqlite:///var/lib/gatehouse.sqlite`).
 */
export function parseSqliteUrl(url: string): SqliteUrl {
  const rest = url.replace(/^sqlite:\/\//, '');
  const query = rest.indexOf('?');
  const path = query === -1 ? rest : rest.slice(0, query);
  const params = new URLSearchParams(query === -1 ? '' : rest.slice(query + 1));
  let synchronous: SqliteSynchronous = 'normal';
  let readPin = true;
  // A value or name is quoted only when redactUrl shows it: `?readPin=on#token=…` is one value holding a secret.
  const quoted = (piece: string, before: string) => (redactedUrlShows(url, piece) ? `${before}"${piece}"` : '');
  for (const [name, value] of params) {
    const wanted = value.toLowerCase();
    if (name === 'synchronous') {
      if (!SQLITE_SYNCHRONOUS.includes(wanted as SqliteSynchronous)) {
        throw new Error(`SESSION_STORE_URL: sqlite:// synchronous must be full or normal${quoted(value, ', not ')}`);
      }
      synchronous = wanted as SqliteSynchronous;
    } else if (name === 'readPin') {
      if (wanted !== 'on' && wanted !== 'off') throw new Error(`SESSION_STORE_URL: sqlite:// readPin must be on or off${quoted(value, ', not ')}`);
      readPin = wanted === 'on';
    } else {
      throw new Error(`SESSION_STORE_URL: unknown sqlite:// parameter${quoted(name, ' ')} (the parameters are ${PARAMETERS})`);
    }
  }
  return { path, synchronous, readPin };
}

/**
 * The read pin (sqliteReadPin.ts) on a connection of its own, for a file in
 * WAL mode. Without one (an in-memory database is private to its
 * connection; a file system where WAL could not be set; a pin that failed to
 * open) the store works the same, its reads at their unpinned cost.
 */
function openPin(Database: typeof BetterSqlite3, path: string, store: BetterSqlite3.Database): SqliteReadPin | undefined {
  if (store.pragma('journal_mode', { simple: true }) !== 'wal') return undefined;
  let pinDb: BetterSqlite3.Database | undefined;
  try {
    pinDb = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    return new SqliteReadPin(pinDb, store);
  } catch {
    pinDb?.close();
    return undefined;
  }
}

/**
 * SQLite (the embedded default): a file in WAL mode (readers never wait for
 * the writer), created with its directory on first start. Rows the
 * Keyv-based store of earlier versions wrote to the same file are moved to
 * the native tables on open, once.
 */
export async function openSqlite(options: OpenStoreOptions): Promise<KeyValueStore> {
  const { path, synchronous, readPin } = parseSqliteUrl(options.url);
  const { default: Database } = await importDriver(SQLITE_DRIVER, options.url, () => import('better-sqlite3'));
  const inMemory = path === '' || path === ':memory:';
  if (!inMemory) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { timeout: OPEN_BUSY_TIMEOUT_MS });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
    createSchema(db);
    const namespace = namespaceOf(options);
    migrateLegacyRows(db, namespace, Date.now());
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const pin = inMemory || !readPin ? undefined : openPin(Database, path, db);
    try {
      return new SqliteKeyValueStore(db, namespace, options.timeoutMs, synchronous, pin);
    } catch (error) {
      pin?.close();
      throw error;
    }
  } catch (error) {
    db.close();
    throw error;
  }
}
