import type Database from 'better-sqlite3';
import { counterTtlMs, encodeCounter, NO_COUNTER, nextCounter, parseCounter } from './counter.js';
import { expiryOf } from './expiry.js';
import type { Counter, KeyValueStore } from './keyValueStore.js';
import { MAPS, VALUES } from './sqliteSchema.js';
import { StoreUnavailableError } from './storeErrors.js';

/** The longest pause between two tries of a statement that found the database locked. */
const MAX_RETRY_PAUSE_MS = 20;

/** SQLITE_BUSY and its extended codes: the statement did nothing because another connection held a lock. */
function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** A row is live when it never expires or expires after now. */
const LIVE = '(expires IS NULL OR expires > @now)';

/** Every statement the store runs, prepared once when it opens. */
function prepare(db: Database.Database) {
  return {
    get: db.prepare<{ key: string; now: number }, string>(`SELECT value FROM ${VALUES} WHERE key = @key AND ${LIVE}`).pluck(),
    set: db.prepare(
      `INSERT INTO ${VALUES} (key, value, expires) VALUES (@key, @value, @expires)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
    ),
    // An expired row counts as absent: the upsert overwrites only such a row.
    add: db.prepare(
      `INSERT INTO ${VALUES} (key, value, expires) VALUES (@key, @value, @expires)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires
       WHERE ${VALUES}.expires IS NOT NULL AND ${VALUES}.expires <= @now`,
    ),
    replace: db.prepare(`UPDATE ${VALUES} SET value = @value, expires = @expires WHERE key = @key AND ${LIVE}`),
    compareAndSet: db.prepare(`UPDATE ${VALUES} SET value = @value, expires = @expires WHERE key = @key AND value = @expected AND ${LIVE}`),
    deleteValue: db.prepare<{ key: string }, number | null>(`DELETE FROM ${VALUES} WHERE key = @key RETURNING expires`).pluck(),
    deleteMap: db.prepare<{ key: string }, number | null>(`DELETE FROM ${MAPS} WHERE key = @key RETURNING expires`).pluck(),
    mapSet: db.prepare(
      `INSERT INTO ${MAPS} (key, field, value, expires) VALUES (@key, @field, @value, @expires)
       ON CONFLICT (key, field) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
    ),
    mapDelete: db.prepare(`DELETE FROM ${MAPS} WHERE key = @key AND field = @field`),
    mapGetAll: db.prepare<{ key: string; now: number }, { field: string; value: string }>(
      `SELECT field, value FROM ${MAPS} WHERE key = @key AND ${LIVE}`,
    ),
    ping: db.prepare('SELECT 1').pluck(),
    // A key range instead of LIKE: LIKE is case-insensitive in SQLite, so namespace "A" would sweep namespace "a".
    sweepValues: db.prepare(
      `DELETE FROM ${VALUES} WHERE rowid IN (
         SELECT rowid FROM ${VALUES} WHERE expires <= @now AND key >= @from AND key < @to LIMIT @limit)`,
    ),
    sweepMaps: db.prepare(
      `DELETE FROM ${MAPS} WHERE rowid IN (
         SELECT rowid FROM ${MAPS} WHERE expires <= @now AND key >= @from AND key < @to LIMIT @limit)`,
    ),
  };
}

/**
 * SQLite through better-sqlite3 (`sqlite://path`): values in one table with
 * an `expires` column, maps in a `(key, field)` table, keys prefixed with
 * `<namespace>:`. Every call is synchronous and every conditional one is a
 * single statement (or, for `delete` and `addToCounter`, one `BEGIN
 * IMMEDIATE` transaction), so it is atomic against this process and any
 * other process on the same file (`npm run users`, a second instance): SQLite
 * lets one writer in at a time and each statement takes the write lock
 * before it reads. Failures (a database still locked by another process at
 * the store timeout, a closed or broken file) reject with
 * `StoreUnavailableError`.
 */
export class SqliteKeyValueStore implements KeyValueStore {
  readonly kind = 'sqlite' as const;
  readonly #db: Database.Database;
  readonly #prefix: string;
  /** The namespace's key range: every key from `<ns>:` up to, not including, `<ns>;` (";" follows ":"). */
  readonly #range: { from: string; to: string };
  readonly #sql: ReturnType<typeof prepare>;
  /** How long an operation keeps retrying while another process holds the write lock. */
  readonly #timeoutMs: number;
  readonly #delete: (key: string, now: number) => boolean;
  readonly #addToCounter: (key: string, delta: number, nowMs: number, windowMs: number) => Counter;

  constructor(db: Database.Database, namespace: string, timeoutMs: number) {
    this.#db = db;
    this.#timeoutMs = timeoutMs;
    this.#prefix = `${namespace}:`;
    this.#range = { from: `${namespace}:`, to: `${namespace};` };
    this.#sql = prepare(db);
    const sql = this.#sql;
    this.#delete = db.transaction((key: string, now: number) => {
      // Like memory and Redis: one key space, so a map under `key` goes too. True only if something live went.
      const expiries = [...sql.deleteValue.all({ key }), ...sql.deleteMap.all({ key })];
      return expiries.some((expires) => expires === null || expires > now);
    }).immediate;
    this.#addToCounter = db.transaction((key: string, delta: number, nowMs: number, windowMs: number) => {
      const now = Date.now();
      const counter = nextCounter(parseCounter(sql.get.get({ key, now }), nowMs), delta, nowMs, windowMs);
      if (!counter) return NO_COUNTER;
      sql.set.run({ key, value: encodeCounter(counter), expires: expiryOf(counterTtlMs(counter, nowMs), now) });
      return counter;
    }).immediate;
  }

  /**
   * Runs one synchronous step. When another process holds the write lock,
   * the step fails at once having done nothing (a single statement, or a
   * transaction rolled back): it is tried again after a short, jittered,
   * growing pause — off the event loop, which keeps serving — until the store
   * timeout. Any other failure, or a lock still held then, is a
   * `StoreUnavailableError`.
   */
  #run<T>(operation: string, step: () => T): Promise<T> {
    try {
      return Promise.resolve(step());
    } catch (error) {
      if (isBusy(error)) return this.#retryWhileBusy(operation, step, Date.now() + this.#timeoutMs);
      return Promise.reject(new StoreUnavailableError(operation, { cause: error }));
    }
  }

  async #retryWhileBusy<T>(operation: string, step: () => T, deadline: number): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      // Jitter: processes waiting for one lock must not wake up in step and collide again.
      await new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * Math.min(2 ** attempt, MAX_RETRY_PAUSE_MS)));
      try {
        return step();
      } catch (error) {
        if (!isBusy(error) || Date.now() >= deadline) throw new StoreUnavailableError(operation, { cause: error });
      }
    }
  }

  #key(key: string): string {
    return this.#prefix + key;
  }

  get(key: string): Promise<string | undefined> {
    return this.#run('get', () => this.#sql.get.get({ key: this.#key(key), now: Date.now() }));
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.#run('set', () => {
      this.#sql.set.run({ key: this.#key(key), value, expires: expiryOf(ttlMs, Date.now()) });
    });
  }

  add(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.#run('add', () => {
      const now = Date.now();
      return this.#sql.add.run({ key: this.#key(key), value, expires: expiryOf(ttlMs, now), now }).changes === 1;
    });
  }

  replace(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.#run('replace', () => {
      const now = Date.now();
      return this.#sql.replace.run({ key: this.#key(key), value, expires: expiryOf(ttlMs, now), now }).changes === 1;
    });
  }

  compareAndSet(key: string, expected: string, next: string, ttlMs: number): Promise<boolean> {
    return this.#run('compareAndSet', () => {
      const now = Date.now();
      return this.#sql.compareAndSet.run({ key: this.#key(key), expected, value: next, expires: expiryOf(ttlMs, now), now }).changes === 1;
    });
  }

  addToCounter(key: string, delta: number, nowMs: number, windowMs: number): Promise<Counter> {
    return this.#run('addToCounter', () => this.#addToCounter(this.#key(key), delta, nowMs, windowMs));
  }

  delete(key: string): Promise<boolean> {
    return this.#run('delete', () => this.#delete(this.#key(key), Date.now()));
  }

  mapSet(key: string, field: string, value: string, ttlMs: number): Promise<void> {
    return this.#run('mapSet', () => {
      this.#sql.mapSet.run({ key: this.#key(key), field, value, expires: expiryOf(ttlMs, Date.now()) });
    });
  }

  mapDelete(key: string, field: string): Promise<void> {
    return this.#run('mapDelete', () => {
      this.#sql.mapDelete.run({ key: this.#key(key), field });
    });
  }

  mapGetAll(key: string): Promise<Map<string, string>> {
    return this.#run('mapGetAll', () => {
      const rows = this.#sql.mapGetAll.all({ key: this.#key(key), now: Date.now() });
      return new Map(rows.map((row) => [row.field, row.value]));
    });
  }

  ping(): Promise<void> {
    return this.#run('ping', () => {
      this.#sql.ping.get();
    });
  }

  /** SQLite never expires a row by itself: the sweeper deletes expired values, then expired map fields, up to `limit` rows. */
  sweepExpired(limit: number): Promise<number> {
    return this.#run('sweep', () => {
      const now = Date.now();
      const values = this.#sql.sweepValues.run({ now, ...this.#range, limit }).changes;
      const fields = values < limit ? this.#sql.sweepMaps.run({ now, ...this.#range, limit: limit - values }).changes : 0;
      return values + fields;
    });
  }

  close(): Promise<void> {
    if (this.#db.open) this.#db.close();
    return Promise.resolve();
  }
}
