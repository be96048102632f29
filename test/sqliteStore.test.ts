import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../server/store/openStore.js';
import { parseSqliteUrl } from '../server/store/openSqlite.js';
import { StoreUnavailableError } from '../server/store/storeErrors.js';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the sqlite:// URL', () => {
  it('is a path as written, synchronous=normal (ends and account changes always full) unless it says otherwise', () => {
    expect(parseSqliteUrl('sqlite://data/gatehouse.sqlite')).toEqual({ path: 'data/gatehouse.sqlite', synchronous: 'normal', readPin: true });
    expect(parseSqliteUrl('sqlite:///var/lib/g.sqlite?synchronous=normal')).toEqual({ path: '/var/lib/g.sqlite', synchronous: 'normal', readPin: true });
    expect(parseSqliteUrl('sqlite://g.sqlite?readPin=off&synchronous=full')).toEqual({ path: 'g.sqlite', synchronous: 'full', readPin: false });
  });

  it.each(['full', 'normal', 'NORMAL'])('accepts synchronous=%s', async (synchronous) => {
    const store = await openStore({ url: `sqlite://${join(dir, `sync-${synchronous}.sqlite`)}?synchronous=${synchronous}`, timeoutMs: 1_000 });
    await store.set('k', 'v', 60_000);
    expect(await store.get('k')).toBe('v');
    await store.close();
  });

  it('refuses synchronous=off (a power cut could corrupt the file) and unknown values, naming the choices', async () => {
    await expect(openStore({ url: `sqlite://${join(dir, 'x.sqlite')}?synchronous=off`, timeoutMs: 1_000 })).rejects.toThrow(
      'SESSION_STORE_URL: sqlite:// synchronous must be full or normal, not "off"',
    );
  });

  it('refuses a readPin other than on or off', async () => {
    await expect(openStore({ url: `sqlite://${join(dir, 'x.sqlite')}?readPin=maybe`, timeoutMs: 1_000 })).rejects.toThrow(
      'SESSION_STORE_URL: sqlite:// readPin must be on or off, not "maybe"',
    );
  });

  it('refuses an unknown parameter instead of ignoring it', async () => {
    await expect(openStore({ url: `sqlite://${join(dir, 'x.sqlite')}?journal=delete`, timeoutMs: 1_000 })).rejects.toThrow(
      'SESSION_STORE_URL: unknown sqlite:// parameter "journal" (the parameters are synchronous=full|normal, readPin=on|off)',
    );
  });
});

describe('another process holding the write lock', () => {
  /** The write lock, held the way a second process's transaction holds it. */
  function holdWriteLock(path: string) {
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    return () => {
      other.exec('ROLLBACK');
      other.close();
    };
  }

  it('a write waits for it without stopping the process (timers fire, reads answer), then goes through', async () => {
    const path = join(dir, 'busy.sqlite');
    const store = await openStore({ url: `sqlite://${path}`, timeoutMs: 5_000 });
    await store.set('k', 'before', 60_000);
    const release = holdWriteLock(path);
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 5);
    const writes = Promise.all([store.set('k', 'during', 60_000), store.addToCounter('c', 1, Date.now(), 60_000)]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      // WAL: readers never wait for the writer; and the event loop was free while the writes waited.
      expect(await store.get('k')).toBe('before');
      // A loop blocked for the whole wait would have ticked at most once, when it woke.
      expect(ticks).toBeGreaterThan(2);
    } finally {
      clearInterval(ticker);
      release();
    }
    await writes;
    expect(await store.get('k')).toBe('during');
    expect(await store.get('c')).toMatch(/^1\|/);
    await store.close();
  });

  it('a lock still held at the store timeout is a StoreUnavailableError (503), not a hang', async () => {
    const path = join(dir, 'busy-timeout.sqlite');
    const store = await openStore({ url: `sqlite://${path}`, timeoutMs: 300 });
    await store.set('k', 'v', 60_000);
    const release = holdWriteLock(path);
    try {
      // No hang: this test's own timeout (5 s, over ten times the store's) is the bound; no timing is asserted.
      await expect(store.compareAndSet('k', 'v', 'w', 60_000)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.addToCounter('c', 1, Date.now(), 60_000)).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      release();
    }
    expect(await store.get('k')).toBe('v');
    await store.close();
  }, 5_000);
});

describe('group commit', () => {
  function readFromAnotherConnection(path: string, key: string): string | undefined {
    const other = new Database(path, { readonly: true });
    try {
      const row = other.prepare('SELECT value FROM gatehouse_values WHERE key = ?').get(`gatehouse:${key}`) as { value: string } | undefined;
      return row?.value;
    } finally {
      other.close();
    }
  }

  it('a write is answered only once it is committed: another connection sees it then, and not before', async () => {
    const path = join(dir, 'group.sqlite');
    const store = await openStore({ url: `sqlite://${path}`, timeoutMs: 1_000 });
    const writes = Array.from({ length: 20 }, (_, i) => store.set(`k${i}`, `v${i}`, 60_000));
    // Written in this turn of the event loop, not yet committed: invisible outside.
    expect(readFromAnotherConnection(path, 'k0')).toBeUndefined();
    await Promise.all(writes);
    expect(readFromAnotherConnection(path, 'k0')).toBe('v0');
    expect(readFromAnotherConnection(path, 'k19')).toBe('v19');
    await store.close();
  });

  it('a delete (a logout, a revocation) is answered once committed, and the writes before it are committed first', async () => {
    const path = join(dir, 'group-delete.sqlite');
    const store = await openStore({ url: `sqlite://${path}`, timeoutMs: 1_000 });
    await store.set('ended', 'session', 60_000);
    const pending = store.set('started', 'session', 60_000);
    const deleted = await store.delete('ended');
    expect(deleted).toBe(true);
    expect(readFromAnotherConnection(path, 'ended')).toBeUndefined();
    expect(readFromAnotherConnection(path, 'started')).toBe('session');
    await pending;
    await store.close();
  });

  it('deletes and sets of one turn, interleaved, are all committed and each answers its own result', async () => {
    const path = join(dir, 'group-mixed.sqlite');
    const store = await openStore({ url: `sqlite://${path}`, timeoutMs: 1_000 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.set(`old${i}`, 'x', 60_000)));
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => [store.delete(`old${i}`), store.set(`new${i}`, 'y', 60_000), store.delete(`missing${i}`)]).flat(),
    );
    expect(results).toEqual(Array.from({ length: 10 }, () => [true, undefined, false]).flat());
    for (let i = 0; i < 10; i += 1) {
      expect(readFromAnotherConnection(path, `old${i}`)).toBeUndefined();
      expect(readFromAnotherConnection(path, `new${i}`)).toBe('y');
    }
    await store.close();
  });

  it('close() commits writes still waiting for their batch instead of losing them', async () => {
    const path = join(dir, 'group-close.sqlite');
    const store = await openStore({ url: `sqlite://${path}`, timeoutMs: 1_000 });
    const pending = store.set('k', 'kept', 60_000);
    await store.close();
    await pending;
    expect(readFromAnotherConnection(path, 'k')).toBe('kept');
  });
});

describe('a batch that fails', () => {
  /** Stands in for SQLITE_FULL or an I/O error, which SQLite may answer by rolling the whole transaction back. */
  function rollBackOnKey(path: string, key: string) {
    const admin = new Database(path);
    admin.exec(`CREATE TRIGGER boom BEFORE INSERT ON gatehouse_values WHEN NEW.key = 'gatehouse:${key}' BEGIN SELECT RAISE(ROLLBACK, 'simulated SQLITE_FULL'); END`);
    admin.close();
  }

  it('a write that rolls the transaction back fails every write of its batch: a logout in it is a 503, never acknowledged while the session stays', async () => {
    const path = join(dir, 'rolled-back.sqlite');
    const store = await openStore({ url: `sqlite://${path}`, timeoutMs: 1_000 });
    await store.set('session', 'alive', 0);
    rollBackOnKey(path, 'boom');
    const logout = store.delete('session').then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    const failing = store.set('boom', 'x', 0).catch((error: unknown) => error);
    const later = store.set('other', 'y', 0);
    const outcome = await logout;
    expect('error' in outcome && outcome.error).toBeInstanceOf(StoreUnavailableError);
    expect(await failing).toBeInstanceOf(StoreUnavailableError);
    await later;
    // The logout was not reported done, and indeed did not happen: a retry of it does.
    expect(await store.get('session')).toBe('alive');
    expect(await store.get('other')).toBe('y');
    expect(await store.delete('session')).toBe(true);
    await store.close();
  });

  it('a write that fails alone (its statement undone) is rejected while the rest of its batch commits, and the write lock is not kept', async () => {
    const path = join(dir, 'failed-statement.sqlite');
    const store = await openStore({ url: `sqlite://${path}`, timeoutMs: 1_000 });
    const kept = store.set('kept', 'v', 0);
    await expect(store.set('bad', null as unknown as string, 0)).rejects.toBeInstanceOf(StoreUnavailableError);
    await kept;
    expect(readValue(path, 'kept')).toBe('v');
    // Now as the first write of a batch: its transaction is still committed (empty) on the next turn.
    await expect(store.set('bad', null as unknown as string, 0)).rejects.toBeInstanceOf(StoreUnavailableError);
    await new Promise((resolve) => setImmediate(resolve));
    // Another process can write at once: no transaction was left open after the failure.
    const other = new Database(path);
    other.pragma('busy_timeout = 0');
    expect(() => other.prepare(`INSERT INTO gatehouse_values VALUES ('other:k', 'v', NULL)`).run()).not.toThrow();
    other.close();
    await store.close();
  });
});

function readValue(path: string, key: string): string | undefined {
  const other = new Database(path, { readonly: true });
  try {
    return (other.prepare('SELECT value FROM gatehouse_values WHERE key = ?').get(`gatehouse:${key}`) as { value: string } | undefined)?.value;
  } finally {
    other.close();
  }
}
