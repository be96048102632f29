import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { openStore } from '../server/store/openStore.js';
import { SqliteKeyValueStore } from '../server/store/sqliteKeyValueStore.js';
import { SqliteReadPin, type SqliteReadPinOptions } from '../server/store/sqliteReadPin.js';
import { createSchema, VALUES } from '../server/store/sqliteSchema.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-read-pin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NAMESPACE = 'pin';
const opened: SqliteKeyValueStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

/** The store as openSqlite builds it, with the pin in the test's hands. */
function openPinned(name: string, pinOptions: SqliteReadPinOptions = {}) {
  const path = join(dir, `${name}.sqlite`);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  createSchema(db);
  const pinDb = new Database(path, { timeout: 0 });
  const pin = new SqliteReadPin(pinDb, db, pinOptions);
  const store = new SqliteKeyValueStore(db, NAMESPACE, 5_000, 'normal', pin);
  opened.push(store);
  return { path, pin, pinDb, store };
}

/** A program run by another OS process on the file, the way a second instance or `npm run users` uses it. */
function programOn(path: string, script: string): string {
  return `
    const Database = require('better-sqlite3');
    const db = new Database(${JSON.stringify(path)}, { timeout: Number(process.env.BUSY_TIMEOUT ?? 10000) });
    const out = (() => { ${script} })();
    db.close();
    process.stdout.write(String(out ?? ''));
  `;
}
async function inAnotherProcess(path: string, script: string): Promise<string> {
  return (await run(process.execPath, ['-e', programOn(path, script)])).stdout;
}
/** The same, while this process waits without turning its event loop: the pin, once taken, stays held. */
function inAnotherProcessNow(path: string, script: string, busyTimeoutMs = 10_000): string {
  return execFileSync(process.execPath, ['-e', programOn(path, script)], { env: { ...process.env, BUSY_TIMEOUT: String(busyTimeoutMs) } }).toString();
}

const walBytes = (path: string) => statSync(`${path}-wal`).size;
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('the read pin of the SQLite store', () => {
  it('is taken by a read and held until the next check phase of the event loop only', async () => {
    const { pin, store } = openPinned('turn');
    await store.set('k', 'v', 60_000);
    expect(pin.held).toBe(false);
    expect(await store.get('k')).toBe('v');
    expect(pin.held).toBe(true);
    await nextTurn();
    expect(pin.held).toBe(false);
  });

  it('never lends its snapshot: a read sees what another process committed while the pin held an older one', async () => {
    const { path, pin, pinDb, store } = openPinned('fresh');
    await store.set('session', 'live', 60_000);
    await store.set('other', 'before', 60_000);
    expect(await store.get('session')).toBe('live');
    expect(pin.held).toBe(true);

    // A logout and an account change by another process, committed and done before the reads below, in the same turn.
    inAnotherProcessNow(
      path,
      `db.prepare("DELETE FROM ${VALUES} WHERE key = 'pin:session'").run();
       db.prepare("UPDATE ${VALUES} SET value = 'after' WHERE key = 'pin:other'").run();`,
    );

    // The pin still holds the snapshot from before them...
    expect(pin.held).toBe(true);
    const inPinSnapshot = pinDb.prepare<[string], string>(`SELECT value FROM ${VALUES} WHERE key = ?`).pluck();
    expect(inPinSnapshot.get('pin:session')).toBe('live');
    expect(inPinSnapshot.get('pin:other')).toBe('before');
    // ...and the store's reads see both all the same.
    expect(await store.get('session')).toBeUndefined();
    expect(await store.get('other')).toBe('after');
    expect(await store.mapGetAll('session')).toEqual(new Map());
  });

  it('holds nothing between turns: another process can then checkpoint and empty the WAL without waiting', async () => {
    const { path, store } = openPinned('between-turns');
    await store.set('k', 'v', 60_000);
    expect(await store.get('k')).toBe('v');
    await nextTurn();
    // Busy timeout 0: a read mark still held would make TRUNCATE answer busy (1) and leave the WAL as it is.
    const result = inAnotherProcessNow(path, `return JSON.stringify(db.pragma('wal_checkpoint(TRUNCATE)'));`, 0);
    expect(JSON.parse(result)).toEqual([{ busy: 0, log: 0, checkpointed: 0 }]);
    expect(walBytes(path)).toBe(0);
  });

  it("lets go before a commit of the store's made while it is held, so that commit's checkpoint can copy every frame", async () => {
    const { path, pin, store } = openPinned('own-commit');
    await store.set('session', 'live', 60_000);
    const checkpointer = new Database(path);
    try {
      // One turn: a read (the pin is taken), a write (a batch opens), then a logout, whose synced batch
      // commits the open one first, there and then.
      expect(await store.get('session')).toBe('live');
      expect(pin.held).toBe(true);
      const written = store.set('other', 'x'.repeat(20_000), 60_000);
      const ended = store.delete('session');
      expect(pin.held).toBe(false);
      // Still the same turn: a checkpoint copies every committed frame; a pin on the older snapshot would stop it short.
      const [result] = checkpointer.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
      expect(result!.log).toBeGreaterThan(0);
      expect(result!.checkpointed).toBe(result!.log);
      await Promise.all([written, ended]);
    } finally {
      checkpointer.close();
    }
  });

  it('a WAL written through continuously, read between the writes, starts over instead of growing', async () => {
    const { path, store } = openPinned('own-writes');
    const value = 'v'.repeat(2_000);
    // 40 MB through the WAL in 200 commits, each turn reading first (taking the pin), then writing.
    for (let batch = 0; batch < 200; batch += 1) {
      expect(await store.get('k0-0')).toBe(batch === 0 ? undefined : value);
      await Promise.all(Array.from({ length: 100 }, (_, i) => store.set(`k${batch}-${i}`, value, 60_000)));
    }
    // The automatic checkpoint starts the WAL over at about 1,000 pages (4 MB).
    expect(walBytes(path)).toBeLessThan(8_000_000);
    expect(await store.get('k199-99')).toBe(value);
  });

  it('steps aside once it sees another process commit, so that process can checkpoint and start the WAL over', async () => {
    const { path, pin, store } = openPinned('other-writer', { stepAsideMs: 200 });
    await store.set('session', 'live', 60_000);
    let reading = true;
    let turnsAside = 0;
    const reads = (async () => {
      while (reading) {
        // 50 reads per turn, as a loaded server's turn serves many requests.
        for (let i = 0; i < 50; i += 1) expect(await store.get('session')).toBe('live');
        if (!pin.held) turnsAside += 1;
        await nextTurn();
      }
    })();
    try {
      // 1,500 commits of 2 kB (12 MB and more through the WAL) by another process, paced, while this one reads.
      const committed = await inAnotherProcess(
        path,
        `const insert = db.prepare("INSERT INTO ${VALUES} (key, value, expires) VALUES (?, ?, NULL)");
         const value = 'w'.repeat(2000);
         const pause = new Int32Array(new SharedArrayBuffer(4));
         for (let i = 0; i < 1500; i += 1) {
           insert.run('pin:w' + i, value);
           if (i % 20 === 0) Atomics.wait(pause, 0, 0, 1);
         }
         return db.prepare("SELECT count(*) FROM ${VALUES} WHERE key LIKE 'pin:w%'").pluck().get();`,
      );
      expect(committed).toBe('1500');
      // About 4 MB: its automatic checkpoints emptied it each time (7.6–12.7 MB measured with the pin never stepping
      // aside). 6.04 MB once in CI, the suite's other files loading both cores: the bound sits below the failure's least.
      expect(walBytes(path)).toBeLessThan(7_000_000);
      expect(turnsAside).toBeGreaterThan(0);
    } finally {
      reading = false;
      await reads;
    }
    // Once the other process has stopped writing for the step-aside time, a read takes the pin again.
    await vi.waitFor(
      async () => {
        expect(await store.get('session')).toBe('live');
        expect(pin.held).toBe(true);
      },
      { timeout: 5_000, interval: 50 },
    );
  });

  it("sees another process's commit made between two of the store's own, and steps aside after the next pinned turn", async () => {
    const { path, pin, store } = openPinned('between-own-commits', { stepAsideMs: 60_000 });
    await store.set('a', '1', 60_000);
    expect(await store.get('a')).toBe('1');
    await nextTurn();
    inAnotherProcessNow(path, `db.prepare("INSERT INTO ${VALUES} (key, value, expires) VALUES ('pin:foreign', 'x', NULL)").run();`);
    await store.set('b', '2', 60_000);
    // The first read after it may still be pinned (the pin looks when it lets go)...
    expect(await store.get('foreign')).toBe('x');
    await nextTurn();
    // ...but from then on the pin stays aside.
    expect(await store.get('b')).toBe('2');
    expect(pin.held).toBe(false);
  });

  it('close() lets go of the file: another process can then take it whole', async () => {
    const { path, pin, store } = openPinned('close');
    await store.set('k', 'v', 60_000);
    expect(await store.get('k')).toBe('v');
    expect(pin.held).toBe(true);
    await store.close();
    expect(pin.held).toBe(false);
    // Leaving WAL mode needs every other connection gone, the pin's included.
    expect(await inAnotherProcess(path, `return db.pragma('journal_mode = DELETE', { simple: true });`)).toBe('delete');
  });

  it('openStore pins a WAL file (a read mark held for the turn), unless readPin=off; an in-memory database has none', async () => {
    const truncate = (path: string) =>
      JSON.parse(inAnotherProcessNow(path, `return JSON.stringify(db.pragma('wal_checkpoint(TRUNCATE)'));`, 0)) as { busy: number }[];
    const pinnedPath = join(dir, 'opened.sqlite');
    const unpinnedPath = join(dir, 'opened-off.sqlite');
    const pinned = await openStore({ url: `sqlite://${pinnedPath}`, timeoutMs: 1_000 });
    const unpinned = await openStore({ url: `sqlite://${unpinnedPath}?readPin=off`, timeoutMs: 1_000 });
    const memory = await openStore({ url: 'sqlite://:memory:', timeoutMs: 1_000 });
    try {
      for (const store of [pinned, unpinned, memory]) await store.set('k', 'v', 60_000);
      for (const store of [pinned, unpinned, memory]) expect(await store.get('k')).toBe('v');
      // In the same turn, the pin's read mark keeps another process from emptying the WAL (busy 1); readPin=off holds none.
      expect(truncate(pinnedPath)[0]!.busy).toBe(1);
      expect(truncate(unpinnedPath)[0]!.busy).toBe(0);
      await nextTurn();
      // The next turn the pin is gone.
      expect(truncate(pinnedPath)).toEqual([{ busy: 0, log: 0, checkpointed: 0 }]);
    } finally {
      await Promise.all([pinned.close(), unpinned.close(), memory.close()]);
    }
  });
});
