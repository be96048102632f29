import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SqliteKeyValueStore } from '../server/store/sqliteKeyValueStore.js';
import { SqliteReadPin, type SqliteReadPinOptions } from '../server/store/sqliteReadPin.js';
import { createSchema, VALUES } from '../server/store/sqliteSchema.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-read-pin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NAMESPACE = 'pin';
const HOUR = 3_600_000;
const opened: SqliteKeyValueStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

/** The store as openSqlite builds it, with the pin's timings in the test's hands. */
function openPinned(name: string, pinOptions: SqliteReadPinOptions) {
  const path = join(dir, `${name}.sqlite`);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  createSchema(db);
  const pinDb = new Database(path, { timeout: 0 });
  const pin = new SqliteReadPin(pinDb, pinOptions);
  const store = new SqliteKeyValueStore(db, NAMESPACE, 5_000, 'normal', pin);
  opened.push(store);
  return { path, pin, pinDb, store };
}

/** SQL run by another OS process, the way a second instance or `npm run users` writes to the file. */
async function inAnotherProcess(path: string, script: string): Promise<string> {
  const program = `
    const Database = require('better-sqlite3');
    const db = new Database(${JSON.stringify(path)}, { timeout: 10000 });
    const out = (() => { ${script} })();
    db.close();
    process.stdout.write(String(out ?? ''));
  `;
  const { stdout } = await run(process.execPath, ['-e', program], { cwd: process.cwd() });
  return stdout;
}

const walBytes = (path: string) => statSync(`${path}-wal`).size;
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('the read pin of the SQLite store', () => {
  it('never lends its snapshot: a read sees what another process committed while the pin held an older one', async () => {
    const { path, pin, pinDb, store } = openPinned('fresh', { renewMs: HOUR });
    await store.set('session', 'live', 60_000);
    await store.set('other', 'before', 60_000);
    expect(pin.held).toBe(true);

    // A logout and an account change by another process, committed and done before the reads below begin.
    await inAnotherProcess(
      path,
      `db.prepare("DELETE FROM ${VALUES} WHERE key = 'pin:session'").run();
       db.prepare("UPDATE ${VALUES} SET value = 'after' WHERE key = 'pin:other'").run();`,
    );

    // The pin still holds the snapshot from before them (no renewal for an hour)...
    expect(pin.held).toBe(true);
    const inPinSnapshot = pinDb.prepare<[string], string>(`SELECT value FROM ${VALUES} WHERE key = ?`).pluck();
    expect(inPinSnapshot.get('pin:session')).toBe('live');
    expect(inPinSnapshot.get('pin:other')).toBe('before');
    // ...and the store's reads see both all the same.
    expect(await store.get('session')).toBeUndefined();
    expect(await store.get('other')).toBe('after');
  });

  it("lets go before the store's commits and takes the newest snapshot after: the WAL starts over instead of growing", async () => {
    const { path, pin, store } = openPinned('own-writes', { renewMs: HOUR });
    const value = 'v'.repeat(2_000);
    // 40 MB through the WAL, 200 commits (one per turn), the pin held between them.
    for (let batch = 0; batch < 200; batch += 1) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => store.set(`k${batch}-${i}`, value, 60_000)));
      expect(pin.held).toBe(true);
    }
    // The automatic checkpoint starts the WAL over at about 1,000 pages (4 MB); a pin in the way would grow it past 40 MB.
    expect(walBytes(path)).toBeLessThan(8_000_000);
    expect(await store.get('k199-99')).toBe(value);
  });

  it('steps aside while another process writes, so that process can checkpoint and start the WAL over', async () => {
    const { path, pin, store } = openPinned('other-writer', { renewMs: 10, stepAsideMs: 300 });
    await store.set('session', 'live', 60_000);
    expect(pin.held).toBe(true);
    let reading = true;
    const reads = (async () => {
      let count = 0;
      while (reading) {
        expect(await store.get('session')).toBe('live');
        count += 1;
        if (count % 50 === 0) await turn();
      }
      return count;
    })();
    // 1,500 commits of 2 kB each (12 MB and more through the WAL), by another process, while this one reads.
    const committed = await inAnotherProcess(
      path,
      `const insert = db.prepare("INSERT INTO ${VALUES} (key, value, expires) VALUES (?, ?, NULL)");
       const value = 'w'.repeat(2000);
       for (let i = 0; i < 1500; i += 1) insert.run('pin:w' + i, value);
       return db.prepare("SELECT count(*) FROM ${VALUES} WHERE key LIKE 'pin:w%'").pluck().get();`,
    );
    expect(committed).toBe('1500');
    expect(walBytes(path)).toBeLessThan(8_000_000);
    // While the other process wrote, the pin was released: it looks again every 10 ms and stays aside.
    expect(pin.held).toBe(false);
    reading = false;
    expect(await reads).toBeGreaterThan(0);

    // Once the other process has stopped writing for the step-aside time, the pin is back.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(pin.held).toBe(true);
  });

  it('close() lets go of the file: another process can then take it whole', async () => {
    const { path, store } = openPinned('close', { renewMs: HOUR });
    await store.set('k', 'v', 60_000);
    await store.close();
    // Leaving WAL mode needs every other connection gone, the pin's included.
    expect(await inAnotherProcess(path, `return db.pragma('journal_mode = DELETE', { simple: true });`)).toBe('delete');
  });
});
