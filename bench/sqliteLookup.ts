/**
 * `npx tsx bench/sqliteLookup.ts [rows=100000]`: what one session lookup
 * costs in SQLite itself, on the store's own schema and statement, in a
 * scratch WAL database: run alone (one read transaction per statement),
 * alone while the store's read pin holds the read mark (as the store runs
 * it, server/store/sqliteReadPin.ts), inside an open transaction, and a
 * `PRAGMA data_version` check. bench/PROFILE.md uses it to say where the
 * gap between SQLite and memory reads was, and what closed it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteReadPin } from '../server/store/sqliteReadPin.js';
import { createSchema, VALUES } from '../server/store/sqliteSchema.js';

const rows = Number(process.argv[2] ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-lookup-'));
const path = join(dir, 'lookup.sqlite');
const db = new Database(path);
try {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  createSchema(db);
  const keys = Array.from({ length: rows }, (_, i) => `gatehouse::s:${i.toString(36).padStart(43, '_')}`);
  const value = 'x'.repeat(360);
  const insert = db.prepare(`INSERT INTO ${VALUES} (key, value, expires) VALUES (?, ?, ?)`);
  db.transaction(() => keys.forEach((key) => insert.run(key, value, Date.now() + 3_600_000)))();

  const get = db.prepare(`SELECT value FROM ${VALUES} WHERE key = @key AND (expires IS NULL OR expires > @now)`).pluck();
  const dataVersion = db.prepare('PRAGMA data_version').pluck();

  function microseconds(step: (i: number) => unknown): number {
    const calls = 300_000;
    for (let i = 0; i < 30_000; i += 1) step(i);
    const started = process.hrtime.bigint();
    for (let i = 0; i < calls; i += 1) step(i);
    return Number(process.hrtime.bigint() - started) / calls / 1_000;
  }
  const lookup = (i: number) => get.get({ key: keys[i % rows]!, now: Date.now() });

  const alone = microseconds(lookup);
  // The loop never yields, so it is one turn of the event loop: the pin, taken once, is held throughout.
  const pin = new SqliteReadPin(new Database(path), db);
  const pinned = microseconds((i) => {
    pin.beforeRead();
    return lookup(i);
  });
  pin.close();
  db.exec('BEGIN');
  const inTransaction = microseconds(lookup);
  db.exec('COMMIT');
  const version = microseconds(() => dataVersion.get());
  console.log(`${rows.toLocaleString('en-US')} rows, Node ${process.version}, better-sqlite3 (SQLite ${db.prepare('SELECT sqlite_version()').pluck().get()})`);
  console.log(`lookup alone: ${alone.toFixed(2)} µs`);
  console.log(`lookup alone, the read pin held (the store's read): ${pinned.toFixed(2)} µs`);
  console.log(`lookup inside an open transaction: ${inTransaction.toFixed(2)} µs`);
  console.log(`PRAGMA data_version alone: ${version.toFixed(2)} µs`);
} finally {
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
