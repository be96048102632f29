import type pg from 'pg';
import type { Keyv } from 'keyv';
import { KeyvKeyValueStore } from './keyvKeyValueStore.js';
import { likePrefix } from './openStore.js';

export interface PostgresKeyValueStoreOptions {
  keyv: Keyv<string>;
  pool: pg.Pool;
  /** Runs (and retries until it once succeeds) the `CREATE TABLE IF NOT EXISTS` statements. */
  ensureSchema: () => Promise<void>;
  /** Quoted `schema.table` of the Keyv table; maps live in `mapTable`. */
  table: string;
  mapTable: string;
  namespace: string;
  timeoutMs: number;
}

/** `expires` of a Keyv-format row (`{"value":…,"expires":…}`), NULL when it never expires. */
const EXPIRES = `(value::json->>'expires')::bigint`;

/**
 * PostgreSQL with single-statement atomic operations, safe for any number
 * of processes: `INSERT … ON CONFLICT … WHERE expired` for add (an expired
 * row counts as absent), a conditional `UPDATE` for replace, and a
 * dedicated `(key, field)` table for maps so concurrent writers never
 * read-modify-write a shared value. Rows are in Keyv's format under Keyv's
 * key prefix, so `keyv.get` reads what these statements write.
 */
export class PostgresKeyValueStore extends KeyvKeyValueStore {
  readonly #pool: pg.Pool;
  readonly #ensureSchema: () => Promise<void>;
  readonly #table: string;
  readonly #mapTable: string;
  readonly #namespace: string;

  constructor(options: PostgresKeyValueStoreOptions) {
    super({
      kind: 'postgres',
      keyv: options.keyv,
      timeoutMs: options.timeoutMs,
      ping: () => options.pool.query('SELECT 1'),
      sweep: (limit) => this.#sweep(limit),
      close: () => options.pool.end(),
    });
    this.#pool = options.pool;
    this.#ensureSchema = options.ensureSchema;
    this.#table = options.table;
    this.#mapTable = options.mapTable;
    this.#namespace = options.namespace;
  }

  #key(key: string): string {
    return `${this.#namespace}:${key}`;
  }

  async #query(text: string, values: unknown[]): Promise<pg.QueryResult> {
    await this.#ensureSchema();
    return this.#pool.query(text, values);
  }

  async #serialize(value: string, ttlMs: number): Promise<string> {
    const expires = ttlMs !== 0 ? Date.now() + Math.max(1, ttlMs) : undefined;
    const serialize = this.keyv.serialize;
    return serialize ? await serialize({ value, expires }) : JSON.stringify({ value, expires });
  }

  override add(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.op('add', async () => {
      const result = await this.#query(
        `INSERT INTO ${this.#table} AS t (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value
         WHERE (t.value::json->>'expires') IS NOT NULL AND (t.value::json->>'expires')::bigint <= $3
         RETURNING 1`,
        [this.#key(key), await this.#serialize(value, ttlMs), Date.now()],
      );
      return result.rowCount === 1;
    });
  }

  override replace(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.op('replace', async () => {
      const result = await this.#query(
        `UPDATE ${this.#table} SET value = $2
         WHERE key = $1 AND ((value::json->>'expires') IS NULL OR ${EXPIRES} > $3)`,
        [this.#key(key), await this.#serialize(value, ttlMs), Date.now()],
      );
      return result.rowCount === 1;
    });
  }

  override delete(key: string): Promise<boolean> {
    return this.op('delete', async () => {
      const result = await this.#query(`DELETE FROM ${this.#table} WHERE key = $1`, [this.#key(key)]);
      return (result.rowCount ?? 0) > 0;
    });
  }

  override mapSet(key: string, field: string, value: string, ttlMs: number): Promise<void> {
    return this.op('mapSet', async () => {
      await this.#query(
        `INSERT INTO ${this.#mapTable} (key, field, value, expires) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key, field) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
        [this.#key(key), field, value, ttlMs !== 0 ? Date.now() + Math.max(1, ttlMs) : null],
      );
    });
  }

  override mapDelete(key: string, field: string): Promise<void> {
    return this.op('mapDelete', async () => {
      await this.#query(`DELETE FROM ${this.#mapTable} WHERE key = $1 AND field = $2`, [this.#key(key), field]);
    });
  }

  override mapGetAll(key: string): Promise<Map<string, string>> {
    return this.op('mapGetAll', async () => {
      const result = await this.#query(
        `SELECT field, value FROM ${this.#mapTable} WHERE key = $1 AND (expires IS NULL OR expires > $2)`,
        [this.#key(key), Date.now()],
      );
      return new Map(result.rows.map((row: { field: string; value: string }) => [row.field, row.value]));
    });
  }

  /** Keyv expires SQL rows only when read again: abandoned sessions would pile up without this. */
  async #sweep(limit: number): Promise<number> {
    const now = Date.now();
    const rows = await this.#query(
      `DELETE FROM ${this.#table} WHERE key IN (
         SELECT key FROM ${this.#table}
         WHERE key LIKE $1 AND (value::json->>'expires') IS NOT NULL AND ${EXPIRES} <= $2
         LIMIT $3)`,
      [likePrefix(`${this.#namespace}:`), now, limit],
    );
    const fields = await this.#query(
      `DELETE FROM ${this.#mapTable} WHERE ctid IN (
         SELECT ctid FROM ${this.#mapTable} WHERE expires IS NOT NULL AND expires <= $1 AND key LIKE $2 LIMIT $3)`,
      [now, likePrefix(`${this.#namespace}:`), limit],
    );
    return (rows.rowCount ?? 0) + (fields.rowCount ?? 0);
  }
}
