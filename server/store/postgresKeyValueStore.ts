import type pg from 'pg';
import { COUNTER_TTL_SLACK_MS, encodeCounter, NO_COUNTER, parseCounter } from './counter.js';
import { withDeadline } from './deadline.js';
import { expiryOf } from './expiry.js';
import type { Counter, KeyValueStore } from './keyValueStore.js';
import { likePrefix } from './likePrefix.js';
import type { PostgresTables } from './postgresSchema.js';

export interface PostgresKeyValueStoreOptions {
  pool: pg.Pool;
  /** Creates the tables and moves legacy rows; retried until it once succeeds. */
  ensureSchema: () => Promise<void>;
  tables: PostgresTables;
  namespace: string;
  timeoutMs: number;
}

/** The count and window end of a `<count>|<expiresAt>` value in SQL, NULL for any other value (so no cast can fail). */
const COUNTER = '^-?[0-9]{1,15}\\|[0-9]{1,15}$';
const countOf = (column: string) => `(CASE WHEN ${column} ~ '${COUNTER}' THEN split_part(${column}, '|', 1)::bigint END)`;
const windowEndOf = (column: string) => `(CASE WHEN ${column} ~ '${COUNTER}' THEN split_part(${column}, '|', 2)::bigint END)`;

/**
 * PostgreSQL with one statement per operation, safe for any number of
 * processes: values in `<table>_values (key, value, expires)`, maps in
 * `<table>_maps (key, field, value, expires)`, keys prefixed with
 * `<namespace>:`. A conditional write is one `INSERT … ON CONFLICT` or one
 * `UPDATE … WHERE`; PostgreSQL re-checks the `WHERE` of an `UPDATE` that
 * waited for a concurrent one on the same row, so of two racing swaps from
 * the same value exactly one matches.
 */
export class PostgresKeyValueStore implements KeyValueStore {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #ensureSchema: () => Promise<void>;
  readonly #values: string;
  readonly #maps: string;
  readonly #namespace: string;
  readonly #timeoutMs: number;

  constructor(options: PostgresKeyValueStoreOptions) {
    this.#pool = options.pool;
    this.#ensureSchema = options.ensureSchema;
    this.#values = options.tables.values;
    this.#maps = options.tables.maps;
    this.#namespace = options.namespace;
    this.#timeoutMs = options.timeoutMs;
  }

  #key(key: string): string {
    return `${this.#namespace}:${key}`;
  }

  /** One statement under the deadline; a failure or a late answer is a `StoreUnavailableError`. */
  #query<R extends pg.QueryResultRow = pg.QueryResultRow>(operation: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    return withDeadline(operation, this.#timeoutMs, async () => {
      await this.#ensureSchema();
      return this.#pool.query<R>(text, values);
    });
  }

  async get(key: string): Promise<string | undefined> {
    const result = await this.#query<{ value: string }>(
      'get',
      `SELECT value FROM ${this.#values} WHERE key = $1 AND (expires IS NULL OR expires > $2)`,
      [this.#key(key), Date.now()],
    );
    return result.rows[0]?.value;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.#query(
      'set',
      `INSERT INTO ${this.#values} (key, value, expires) VALUES ($1, $2, $3)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
      [this.#key(key), value, expiryOf(ttlMs, Date.now())],
    );
  }

  async add(key: string, value: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    // An expired row counts as absent: the upsert overwrites only such a row.
    const result = await this.#query(
      'add',
      `INSERT INTO ${this.#values} AS t (key, value, expires) VALUES ($1, $2, $3)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires
       WHERE t.expires IS NOT NULL AND t.expires <= $4`,
      [this.#key(key), value, expiryOf(ttlMs, now), now],
    );
    return result.rowCount === 1;
  }

  async replace(key: string, value: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const result = await this.#query(
      'replace',
      `UPDATE ${this.#values} SET value = $2, expires = $3 WHERE key = $1 AND (expires IS NULL OR expires > $4)`,
      [this.#key(key), value, expiryOf(ttlMs, now), now],
    );
    return result.rowCount === 1;
  }

  async compareAndSet(key: string, expected: string, next: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const result = await this.#query(
      'compareAndSet',
      `UPDATE ${this.#values} SET value = $3, expires = $4
       WHERE key = $1 AND value = $2 AND (expires IS NULL OR expires > $5)`,
      [this.#key(key), expected, next, expiryOf(ttlMs, now), now],
    );
    return result.rowCount === 1;
  }

  /**
   * One statement. A positive `delta` upserts: a live counter (row not
   * expired, window not ended at the caller's `nowMs`) gets `delta` added and
   * keeps its window; anything else at the key is replaced by a fresh
   * counter. A `delta <= 0` only updates a live counter, so it never creates
   * one. The row's own expiry (cleanup only) is the window's end plus a
   * minute, on this process's clock.
   */
  async addToCounter(key: string, delta: number, nowMs: number, windowMs: number): Promise<Counter> {
    const now = Date.now();
    const live = `(t.expires IS NULL OR t.expires > $3) AND (${windowEndOf('t.value')} = 0 OR ${windowEndOf('t.value')} > $4::bigint)`;
    const added = `(${countOf('t.value')} + $2::bigint)::text || '|' || ${windowEndOf('t.value')}::text`;
    const kept = `CASE WHEN ${windowEndOf('t.value')} = 0 THEN NULL ELSE $3::bigint + ${windowEndOf('t.value')} - $4::bigint + $5::bigint END`;
    const params = [this.#key(key), delta, now, nowMs, COUNTER_TTL_SLACK_MS];
    let result: pg.QueryResult<{ value: string }>;
    if (delta > 0) {
      const fresh: Counter = { count: delta, expiresAt: windowMs > 0 ? nowMs + windowMs : 0 };
      result = await this.#query<{ value: string }>(
        'addToCounter',
        `INSERT INTO ${this.#values} AS t (key, value, expires) VALUES ($1, $6, $7)
         ON CONFLICT (key) DO UPDATE SET
           value = CASE WHEN ${live} THEN ${added} ELSE excluded.value END,
           expires = CASE WHEN ${live} THEN ${kept} ELSE excluded.expires END
         RETURNING value`,
        [...params, encodeCounter(fresh), fresh.expiresAt > 0 ? now + windowMs + COUNTER_TTL_SLACK_MS : null],
      );
    } else {
      result = await this.#query<{ value: string }>(
        'addToCounter',
        `UPDATE ${this.#values} AS t SET value = ${added}, expires = ${kept} WHERE t.key = $1 AND ${live} RETURNING value`,
        params,
      );
    }
    const row = result.rows[0];
    if (!row) return NO_COUNTER;
    const counter = parseCounter(row.value, nowMs);
    if (!counter) throw new Error(`addToCounter stored an unreadable counter "${row.value}"`);
    return counter;
  }

  async delete(key: string): Promise<boolean> {
    // Like memory and Redis: one key space, so a map under `key` goes too. True only if something live went.
    const result = await this.#query<{ live: boolean }>(
      'delete',
      `WITH v AS (DELETE FROM ${this.#values} WHERE key = $1 RETURNING expires),
            m AS (DELETE FROM ${this.#maps} WHERE key = $1 RETURNING expires)
       SELECT EXISTS (SELECT 1 FROM v WHERE expires IS NULL OR expires > $2)
           OR EXISTS (SELECT 1 FROM m WHERE expires IS NULL OR expires > $2) AS live`,
      [this.#key(key), Date.now()],
    );
    return result.rows[0]?.live === true;
  }

  async take(key: string): Promise<string | undefined> {
    const result = await this.#query<{ value: string }>(
      'take',
      `WITH taken AS (DELETE FROM ${this.#values} WHERE key = $1 RETURNING value, expires)
       SELECT value FROM taken WHERE expires IS NULL OR expires > $2`,
      [this.#key(key), Date.now()],
    );
    return result.rows[0]?.value;
  }

  async increment(key: string): Promise<number> {
    // A value that is not a plain integer (or one that could expire) starts over at 1.
    const result = await this.#query<{ value: string }>(
      'increment',
      `INSERT INTO ${this.#values} AS t (key, value, expires) VALUES ($1, '1', NULL)
       ON CONFLICT (key) DO UPDATE SET
         value = (CASE WHEN t.value ~ '^[0-9]{1,15}$' AND t.expires IS NULL THEN t.value::bigint + 1 ELSE 1 END)::text,
         expires = NULL
       RETURNING value`,
      [this.#key(key)],
    );
    return Number(result.rows[0]!.value);
  }

  async mapSet(key: string, field: string, value: string, ttlMs: number): Promise<void> {
    await this.#query(
      'mapSet',
      `INSERT INTO ${this.#maps} (key, field, value, expires) VALUES ($1, $2, $3, $4)
       ON CONFLICT (key, field) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
      [this.#key(key), field, value, expiryOf(ttlMs, Date.now())],
    );
  }

  async mapDelete(key: string, field: string): Promise<void> {
    await this.#query('mapDelete', `DELETE FROM ${this.#maps} WHERE key = $1 AND field = $2`, [this.#key(key), field]);
  }

  async mapGetAll(key: string): Promise<Map<string, string>> {
    const result = await this.#query<{ field: string; value: string }>(
      'mapGetAll',
      `SELECT field, value FROM ${this.#maps} WHERE key = $1 AND (expires IS NULL OR expires > $2)`,
      [this.#key(key), Date.now()],
    );
    return new Map(result.rows.map((row) => [row.field, row.value]));
  }

  /** Live values first, then maps with a live field; a key that is both is listed once. */
  async keysWithPrefix(prefix: string, limit: number): Promise<string[]> {
    // PostgreSQL refuses a negative LIMIT.
    if (limit <= 0) return [];
    const params = [likePrefix(this.#key(prefix)), Date.now(), limit];
    const live = '(expires IS NULL OR expires > $2)';
    const values = await this.#query<{ key: string }>('keysWithPrefix', `SELECT key FROM ${this.#values} WHERE key LIKE $1 AND ${live} LIMIT $3`, params);
    const keys = new Set(values.rows.map((row) => row.key));
    if (keys.size < limit) {
      // Not `limit - keys.size`: some of the maps' keys may be values' keys too.
      const maps = await this.#query<{ key: string }>('keysWithPrefix', `SELECT DISTINCT key FROM ${this.#maps} WHERE key LIKE $1 AND ${live} LIMIT $3`, params);
      for (const row of maps.rows) keys.add(row.key);
    }
    const namespace = `${this.#namespace}:`;
    return [...keys].slice(0, limit).map((key) => key.slice(namespace.length));
  }

  async ping(): Promise<void> {
    await withDeadline('ping', this.#timeoutMs, () => this.#pool.query('SELECT 1'));
  }

  /** PostgreSQL never expires a row by itself: deletes expired values, then expired map fields, up to `limit` rows. */
  async sweepExpired(limit: number): Promise<number> {
    const now = Date.now();
    const prefix = likePrefix(`${this.#namespace}:`);
    const values = await this.#query(
      'sweep',
      `DELETE FROM ${this.#values} WHERE key IN (
         SELECT key FROM ${this.#values} WHERE expires <= $1 AND key LIKE $2 LIMIT $3)`,
      [now, prefix, limit],
    );
    const removed = values.rowCount ?? 0;
    if (removed >= limit) return removed;
    const fields = await this.#query(
      'sweep',
      `DELETE FROM ${this.#maps} WHERE ctid IN (
         SELECT ctid FROM ${this.#maps} WHERE expires <= $1 AND key LIKE $2 LIMIT $3)`,
      [now, prefix, limit - removed],
    );
    return removed + (fields.rowCount ?? 0);
  }

  close(): Promise<void> {
    return this.#pool.end();
  }
}
