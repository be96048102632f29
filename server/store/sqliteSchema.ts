import type Database from 'better-sqlite3';
import { decodeLegacyRow } from './legacyKeyv.js';

export const VALUES = 'gatehouse_values';
export const MAPS = 'gatehouse_maps';
/** The table of the Keyv-based SQLite store (before 2026-12), keys `<namespace>:<key>`. */
export const LEGACY = 'keyv';

/** Legacy rows moved per statement round: bounds memory on a large file. */
const MIGRATION_BATCH = 500;

/** `expires` is epoch ms, NULL when the row never expires; the partial indexes serve the sweeper. */
export function createSchema(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${VALUES} (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires INTEGER);
    CREATE INDEX IF NOT EXISTS ${VALUES}_expires ON ${VALUES} (expires) WHERE expires IS NOT NULL;
    CREATE TABLE IF NOT EXISTS ${MAPS} (
      key TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, expires INTEGER, PRIMARY KEY (key, field));
    CREATE INDEX IF NOT EXISTS ${MAPS}_expires ON ${MAPS} (expires) WHERE expires IS NOT NULL;
  `);
}

/**
 * Moves the namespace's rows out of the Keyv-based store's table into the
 * native tables, in one `BEGIN IMMEDIATE` transaction: a second process
 * opening the same file at the same moment waits, then finds nothing left
 * to move, so running it again (or twice at once) changes nothing. A key
 * already in the new tables keeps its newer row; expired legacy rows are
 * dropped; other namespaces' rows stay where they are. Returns how many
 * legacy rows it moved.
 */
export function migrateLegacyRows(db: Database.Database, namespace: string, now: number): number {
  const range = { from: `${namespace}:`, to: `${namespace};` };
  const hasLegacy = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).pluck().get(LEGACY) !== undefined;
  if (!hasLegacy) return 0;
  const pending = db.prepare(`SELECT 1 FROM ${LEGACY} WHERE key >= @from AND key < @to LIMIT 1`).pluck();
  // Checked before taking the write lock, so an upgraded file costs other processes nothing on each open.
  if (pending.get(range) === undefined) return 0;

  const batch = db.prepare<{ from: string; to: string; limit: number }, { key: string; value: string | null }>(
    `SELECT key, value FROM ${LEGACY} WHERE key >= @from AND key < @to ORDER BY key LIMIT @limit`,
  );
  const insertValue = db.prepare(`INSERT INTO ${VALUES} (key, value, expires) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING`);
  const insertField = db.prepare(`INSERT INTO ${MAPS} (key, field, value, expires) VALUES (?, ?, ?, ?) ON CONFLICT (key, field) DO NOTHING`);
  const remove = db.prepare(`DELETE FROM ${LEGACY} WHERE key = ?`);

  const migrate = db.transaction(() => {
    let moved = 0;
    for (;;) {
      const rows = batch.all({ ...range, limit: MIGRATION_BATCH });
      if (rows.length === 0) return moved;
      for (const { key, value } of rows) {
        const row = value === null ? undefined : decodeLegacyRow(value, now);
        if (row?.kind === 'value') insertValue.run(key, row.entry.value, row.entry.expires ?? null);
        if (row?.kind === 'map') for (const field of row.fields) insertField.run(key, field.field, field.value, field.expires);
        remove.run(key);
        moved += 1;
      }
    }
  });
  return migrate.immediate();
}
