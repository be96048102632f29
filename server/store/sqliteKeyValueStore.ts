import type Database from 'better-sqlite3';
import { counterTtlMs, encodeCounter, NO_COUNTER, nextCounter, parseCounter } from './counter.js';
import { expiryOf } from './expiry.js';
import type { Counter, KeyValueStore } from './keyValueStore.js';
import type { SqliteReadPin } from './sqliteReadPin.js';
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
    // The session read, positional: binding from an object costs about 0.5 µs more per lookup.
    read: db.prepare<[string, number], string>(`SELECT value FROM ${VALUES} WHERE key = ? AND (expires IS NULL OR expires > ?)`).pluck(),
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
    take: db.prepare<{ key: string }, { value: string; expires: number | null }>(`DELETE FROM ${VALUES} WHERE key = @key RETURNING value, expires`),
    increment: db.prepare<{ key: string }, string>(
      `INSERT INTO ${VALUES} (key, value, expires) VALUES (@key, '1', NULL)
       ON CONFLICT (key) DO UPDATE SET
         value = CAST(CASE WHEN ${VALUES}.value <> '' AND ${VALUES}.value NOT GLOB '*[^0-9]*' AND ${VALUES}.expires IS NULL
                      THEN CAST(${VALUES}.value AS INTEGER) + 1 ELSE 1 END AS TEXT),
         expires = NULL
       RETURNING value`,
    ).pluck(),
    deleteMap: db.prepare<{ key: string }, number | null>(`DELETE FROM ${MAPS} WHERE key = @key RETURNING expires`).pluck(),
    mapSet: db.prepare(
      `INSERT INTO ${MAPS} (key, field, value, expires) VALUES (@key, @field, @value, @expires)
       ON CONFLICT (key, field) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
    ),
    mapDelete: db.prepare(`DELETE FROM ${MAPS} WHERE key = @key AND field = @field`),
    mapGetAll: db.prepare<{ key: string; now: number }, { field: string; value: string }>(
      `SELECT field, value FROM ${MAPS} WHERE key = @key AND ${LIVE}`,
    ),
    // Not LIKE (case-insensitive in SQLite: prefix "a" would list "A…"): the namespace's key range for the
    // index, and the prefix compared exactly. `length` counts characters, as `substr` does.
    valueKeys: db.prepare<{ prefix: string; to: string; now: number; limit: number }, string>(
      `SELECT key FROM ${VALUES} WHERE key >= @prefix AND key < @to AND substr(key, 1, length(@prefix)) = @prefix AND ${LIVE} LIMIT @limit`,
    ).pluck(),
    mapKeys: db.prepare<{ prefix: string; to: string; now: number; limit: number }, string>(
      `SELECT DISTINCT key FROM ${MAPS} WHERE key >= @prefix AND key < @to AND substr(key, 1, length(@prefix)) = @prefix AND ${LIVE} LIMIT @limit`,
    ).pluck(),
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

/** How the store makes commits durable (`sqlite://path?synchronous=…`, see openSqlite.ts). */
export type SqliteDurability = 'full' | 'normal';

/** Marks the writes that end a session or change an account: their batch is synced to disk before they are answered. */
const DURABLE = true;

interface Pending {
  resolve(): void;
  reject(error: unknown): void;
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
 *
 * Group commit: the writes of one turn of the event loop (many requests'
 * under load) run in one transaction, committed on the next turn; each
 * write's promise resolves only once that commit is done, so nothing is
 * acknowledged before it is committed. A commit costs a WAL append (and,
 * with `synchronous=full`, an fsync) once per batch instead of once per
 * write. The writes that end sessions or change accounts (`delete`,
 * `mapDelete`, `compareAndSet`) go in a batch committed with
 * `synchronous = FULL` whatever the setting, so a logout, a revocation or
 * a password change is on disk before it is answered: one fsync for all
 * of a turn's, and it persists everything committed before it too.
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
  readonly #durability: SqliteDurability;
  /** Shares the read lock of the reads outside a batch (sqliteReadPin.ts); none for an in-memory database. */
  readonly #pin: SqliteReadPin | undefined;
  /** The writes of the open batch transaction, settled by its commit. */
  #pending: Pending[] = [];
  #commitScheduled = false;
  /** Whether the open batch commits with `synchronous = FULL`, and whether it raised the setting to get there. */
  #batchSynced = false;
  #batchRaised = false;

  constructor(
    db: Database.Database,
    namespace: string,
    timeoutMs: number,
    durability: SqliteDurability = 'normal',
    pin?: SqliteReadPin,
  ) {
    this.#db = db;
    this.#pin = pin;
    this.#durability = durability;
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
        if (!isBusy(error) || Date.now() >= deadline) throw new StoreUnavailableError(operation, { cause: error, timedOut: isBusy(error) });
      }
    }
  }

  /**
   * A write in the open batch transaction (opened here if none is): done at
   * once, acknowledged when the batch commits on the next turn of the event
   * loop. A durable write (one that ends something or changes an account)
   * needs a batch committed with `synchronous = FULL`: if the open batch is
   * not one, it is committed first (without waiting for a sync, as it would
   * have been) and a synced batch begins, which the rest of this turn's
   * writes join — at most one fsync per turn, however many logouts. A batch
   * that cannot begin because another process holds the write lock is tried
   * again, like any locked step.
   */
  #write<T>(operation: string, step: () => T, durable = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#run(operation, () => {
        if (durable && this.#db.inTransaction && !this.#batchSynced) this.#commitBatch();
        if (!this.#db.inTransaction) this.#begin(durable);
        let result: T;
        try {
          result = step();
        } catch (error) {
          // A failed statement is undone on its own and the batch goes on (its commit still comes); an error
          // that made SQLite roll the whole transaction back (a full disk, an I/O error) failed every write in it.
          if (this.#db.inTransaction) this.#scheduleCommit();
          else this.#endBatch(error);
          throw error;
        }
        // Joined in the same synchronous step as the write, so whichever
        // commit ends this transaction (the scheduled one, one made for a
        // durable write, close()) settles it.
        this.#pending.push({ resolve: () => resolve(result), reject });
        this.#scheduleCommit();
      }).catch(reject);
    });
  }

  /** Opens a batch; a synced one switches to `synchronous = FULL` for its commit (a pragma SQLite refuses inside a transaction). */
  #begin(synced: boolean): void {
    // Writes still waiting from a batch whose transaction is gone were never committed.
    if (this.#pending.length > 0) this.#endBatch(new Error('the batch was rolled back before its commit'));
    const raise = synced && this.#durability !== 'full';
    if (raise) this.#db.pragma('synchronous = FULL');
    try {
      this.#db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      if (raise) this.#db.pragma('synchronous = NORMAL');
      throw error;
    }
    this.#batchSynced = synced || this.#durability === 'full';
    this.#batchRaised = raise;
  }

  #scheduleCommit(): void {
    if (this.#commitScheduled) return;
    this.#commitScheduled = true;
    setImmediate(() => {
      this.#commitScheduled = false;
      this.#commitBatch();
    });
  }

  /** Commits the open batch and settles its writes: all acknowledged, or all failed (rolled back). */
  #commitBatch(): void {
    if (this.#pending.length === 0 && !this.#db.inTransaction) return;
    if (!this.#db.open || !this.#db.inTransaction) {
      this.#endBatch(new Error('the batch was rolled back (a failed statement) or the database closed before its commit'));
      return;
    }
    // The pin's older snapshot would stop the commit's checkpoint short.
    this.#pin?.release();
    try {
      this.#db.exec('COMMIT');
    } catch (error) {
      try {
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      } catch {
        // The rollback of a failed commit: nothing more to undo.
      }
      this.#endBatch(error);
      return;
    }
    this.#endBatch(undefined);
  }

  /** The batch is over: its writes are acknowledged (`failure` undefined) or all fail, and the durability setting is back. */
  #endBatch(failure: unknown): void {
    const pending = this.#pending;
    this.#pending = [];
    if (this.#batchRaised && this.#db.open) {
      try {
        this.#db.pragma('synchronous = NORMAL');
      } catch {
        // Retried by the next synced batch's own switch; never thrown out of a commit callback.
      }
    }
    this.#batchRaised = false;
    this.#batchSynced = false;
    if (failure !== undefined) {
      for (const write of pending) write.reject(new StoreUnavailableError('commit', { cause: failure }));
      return;
    }
    for (const write of pending) write.resolve();
  }

  #key(key: string): string {
    return this.#prefix + key;
  }

  /** A read outside the batch transaction begins its own read transaction; the pin makes that cheap (sqliteReadPin.ts). */
  #beforeRead(): void {
    if (this.#pin !== undefined && !this.#db.inTransaction) this.#pin.beforeRead();
  }

  get(key: string): Promise<string | undefined> {
    return this.#run('get', () => {
      this.#beforeRead();
      return this.#sql.read.get(this.#prefix + key, Date.now());
    });
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.#write('set', () => {
      this.#sql.set.run({ key: this.#key(key), value, expires: expiryOf(ttlMs, Date.now()) });
    });
  }

  add(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.#write('add', () => {
      const now = Date.now();
      return this.#sql.add.run({ key: this.#key(key), value, expires: expiryOf(ttlMs, now), now }).changes === 1;
    });
  }

  replace(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.#write('replace', () => {
      const now = Date.now();
      return this.#sql.replace.run({ key: this.#key(key), value, expires: expiryOf(ttlMs, now), now }).changes === 1;
    });
  }

  compareAndSet(key: string, expected: string, next: string, ttlMs: number): Promise<boolean> {
    return this.#write(
      'compareAndSet',
      () => {
        const now = Date.now();
        return this.#sql.compareAndSet.run({ key: this.#key(key), expected, value: next, expires: expiryOf(ttlMs, now), now }).changes === 1;
      },
      DURABLE,
    );
  }

  addToCounter(key: string, delta: number, nowMs: number, windowMs: number): Promise<Counter> {
    return this.#write('addToCounter', () => this.#addToCounter(this.#key(key), delta, nowMs, windowMs));
  }

  delete(key: string): Promise<boolean> {
    return this.#write('delete', () => this.#delete(this.#key(key), Date.now()), DURABLE);
  }

  take(key: string): Promise<string | undefined> {
    return this.#write(
      'take',
      () => {
        const row = this.#sql.take.get({ key: this.#key(key) });
        return row && (row.expires === null || row.expires > Date.now()) ? row.value : undefined;
      },
      DURABLE,
    );
  }

  increment(key: string): Promise<number> {
    return this.#write('increment', () => Number(this.#sql.increment.get({ key: this.#key(key) })), DURABLE);
  }

  mapSet(key: string, field: string, value: string, ttlMs: number): Promise<void> {
    return this.#write('mapSet', () => {
      this.#sql.mapSet.run({ key: this.#key(key), field, value, expires: expiryOf(ttlMs, Date.now()) });
    });
  }

  mapDelete(key: string, field: string): Promise<void> {
    return this.#write(
      'mapDelete',
      () => {
        this.#sql.mapDelete.run({ key: this.#key(key), field });
      },
      DURABLE,
    );
  }

  mapGetAll(key: string): Promise<Map<string, string>> {
    return this.#run('mapGetAll', () => {
      this.#beforeRead();
      const rows = this.#sql.mapGetAll.all({ key: this.#key(key), now: Date.now() });
      return new Map(rows.map((row) => [row.field, row.value]));
    });
  }

  /** Live values first, then maps with a live field; a key that is both is listed once. */
  keysWithPrefix(prefix: string, limit: number): Promise<string[]> {
    // SQLite reads a negative LIMIT as none.
    if (limit <= 0) return Promise.resolve([]);
    return this.#run('keysWithPrefix', () => {
      this.#beforeRead();
      const query = { prefix: this.#key(prefix), to: this.#range.to, now: Date.now(), limit };
      const keys = new Set(this.#sql.valueKeys.all(query));
      // Not `limit - keys.size`: some of the maps' keys may be values' keys too.
      if (keys.size < limit) for (const key of this.#sql.mapKeys.all(query)) keys.add(key);
      return [...keys].slice(0, limit).map((key) => key.slice(this.#prefix.length));
    });
  }

  ping(): Promise<void> {
    return this.#run('ping', () => {
      this.#sql.ping.get();
    });
  }

  /** SQLite never expires a row by itself: the sweeper deletes expired values, then expired map fields, up to `limit` rows. */
  sweepExpired(limit: number): Promise<number> {
    return this.#write('sweep', () => {
      const now = Date.now();
      const values = this.#sql.sweepValues.run({ now, ...this.#range, limit }).changes;
      const fields = values < limit ? this.#sql.sweepMaps.run({ now, ...this.#range, limit: limit - values }).changes : 0;
      return values + fields;
    });
  }

  close(): Promise<void> {
    // Writes still waiting for their batch commit are committed, not lost.
    if (this.#db.open) this.#commitBatch();
    this.#pin?.close();
    if (this.#db.open) this.#db.close();
    return Promise.resolve();
  }
}
