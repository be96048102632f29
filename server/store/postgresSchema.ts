import type pg from 'pg';
import { decodeLegacyRow } from './legacyKeyv.js';
import { likePrefix } from './likePrefix.js';

/** Quoted names of the tables one store uses. */
export interface PostgresTables {
  /** Values: `(key, value, expires)`, expires in epoch ms, NULL = never. */
  readonly values: string;
  /** Maps: `(key, field, value, expires)`, the same table as earlier versions. */
  readonly maps: string;
  /** Keyv's table of earlier versions (`{"value":…,"expires":…}` rows); read once, emptied of this namespace. */
  readonly legacy: string;
}

export const tablesFor = (base: string): PostgresTables => ({
  values: `public.${base}_values`,
  maps: `public.${base}_maps`,
  legacy: `public.${base}`,
});

/**
 * Creating the schema and moving a large legacy table may take longer than
 * one operation's deadline; requests meanwhile get 503 and the work goes on.
 */
const MIGRATION_TIMEOUT_MS = 5 * 60_000;
const MIGRATION_BATCH = 1_000;

/**
 * Creates the tables and moves this namespace's rows out of Keyv's table of
 * earlier versions, in one transaction under an advisory lock: processes
 * that start together take turns, and the later ones find the tables there
 * and nothing left to move (so a row a running instance already changed or
 * deleted is never brought back from the old table). Idempotent. A key
 * already in the new table keeps its newer row; expired legacy rows are
 * dropped; other namespaces' rows stay in the old table.
 */
export async function prepareSchema(pool: pg.Pool, tables: PostgresTables, namespace: string): Promise<void> {
  const client = await pool.connect();
  // `query_timeout` per query is honoured by pg but missing from its types.
  const query: Query = (text, values = []) => client.query({ text, values, query_timeout: MIGRATION_TIMEOUT_MS } as pg.QueryConfig);
  try {
    await query('BEGIN');
    await query(`SET LOCAL statement_timeout = ${MIGRATION_TIMEOUT_MS}`);
    await query('SELECT pg_advisory_xact_lock(hashtext($1))', [`gatehouse schema ${tables.values}`]);
    // COLLATE "C": byte order, so `key LIKE 'ns:%'` can use the primary key's index.
    await query(`CREATE TABLE IF NOT EXISTS ${tables.values} (key TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL, expires BIGINT)`);
    await query(`CREATE INDEX IF NOT EXISTS ${indexName(tables.values)} ON ${tables.values} (expires) WHERE expires IS NOT NULL`);
    await query(`CREATE TABLE IF NOT EXISTS ${tables.maps} (
       key VARCHAR(255) NOT NULL, field VARCHAR(255) NOT NULL, value TEXT NOT NULL, expires BIGINT,
       PRIMARY KEY (key, field))`);
    const legacy = await query('SELECT to_regclass($1) IS NOT NULL AS present', [tables.legacy]);
    if ((legacy.rows[0] as { present: boolean }).present) await moveLegacyRows(query, tables, namespace, Date.now());
    await query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

type Query = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

async function moveLegacyRows(query: Query, tables: PostgresTables, namespace: string, now: number): Promise<void> {
  const prefix = likePrefix(`${namespace}:`);
  for (;;) {
    const { rows } = await query(`SELECT key, value FROM ${tables.legacy} WHERE key LIKE $1 ORDER BY key LIMIT $2`, [prefix, MIGRATION_BATCH]);
    if (rows.length === 0) return;
    const values: { key: string; value: string; expires: number | null }[] = [];
    const fields: { key: string; field: string; value: string; expires: number }[] = [];
    for (const { key, value } of rows as { key: string; value: string | null }[]) {
      const row = value === null ? undefined : decodeLegacyRow(value, now);
      if (row?.kind === 'value') values.push({ key, value: row.entry.value, expires: row.entry.expires ?? null });
      if (row?.kind === 'map') for (const field of row.fields) fields.push({ key, ...field });
    }
    await query(
      `INSERT INTO ${tables.values} (key, value, expires)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT (key) DO NOTHING`,
      [values.map((v) => v.key), values.map((v) => v.value), values.map((v) => v.expires)],
    );
    await query(
      `INSERT INTO ${tables.maps} (key, field, value, expires)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) ON CONFLICT (key, field) DO NOTHING`,
      [fields.map((f) => f.key), fields.map((f) => f.field), fields.map((f) => f.value), fields.map((f) => f.expires)],
    );
    await query(`DELETE FROM ${tables.legacy} WHERE key = ANY($1::text[])`, [rows.map((row: { key: string }) => row.key)]);
  }
}

/** `public.x_values` → `x_values_expires` (an index lives in its table's schema). */
const indexName = (table: string) => `${table.slice(table.indexOf('.') + 1)}_expires`;
