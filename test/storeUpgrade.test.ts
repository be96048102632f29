import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Sealer } from '../server/session/sealer.js';
import { newSessionId, publicIdOf, storeKeyOf } from '../server/session/sessionId.js';
import { sessionStoreOver } from './helpers/sessionStores.js';
import { openStoreSecret } from '../server/store/storeSecret.js';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { type Backend, describeEachBackend } from './helpers/backends.js';
import { ManualClock } from './helpers/clock.js';
import { TEST_KEY } from './helpers/server.js';

const HOUR = 3_600_000;
/** Not a literal at the call: SessionStore's options are being extended (a per-user cap) on another branch. */
const LIMITS = { idleMs: HOUR, absoluteMs: 24 * HOUR, maxPerUser: 10 };
const LEGACY_WINDOW_MS = 48 * HOUR;

/**
 * Rows as the Keyv-based stores of the previous version wrote them — the
 * same bytes that version produces (compared against it when this test was
 * written): Keyv's `{"value","expires"}` wrapper, no `expires` for a TTL of 0,
 * a leading ":" escaped as "::", and on SQLite a map as one JSON value.
 */
function legacyRows(namespace: string, now: number) {
  const wrap = (value: string, expires?: number) => JSON.stringify(expires === undefined ? { value } : { value, expires });
  const key = (name: string) => `${namespace}:${name}`;
  return {
    values: [
      [key('plain'), wrap('v1.abc.def', now + HOUR)],
      [key('forever'), wrap('{"id":"u-1"}')],
      [key('colon'), wrap('::starts-with-colon', now + HOUR)],
      [key('gone'), wrap('expired', now - 1)],
      [key('garbage'), 'not json at all'],
      ['other_ns:plain', wrap('not mine', now + HOUR)],
    ],
    map: [key('u:u-1:sessions'), wrap(JSON.stringify({ pub1: { v: 's:abc', exp: now + HOUR }, pub2: { v: 's:def', exp: now - 1 } }), now + HOUR)],
  } as const;
}

/** A session the previous version stored: its sealed record and its index entry. */
function legacySession(now: number) {
  const clock = new ManualClock(now);
  const sealer = new Sealer([TEST_KEY]);
  const id = newSessionId();
  const key = storeKeyOf(id);
  const written = { v: 1, uid: 'u-9', username: 'upgraded', role: 'user', createdAt: now, lastSeen: now, ua: 'Firefox' };
  // What it reads as now: format 2, the built-in user, no data, the login as the last authentication.
  const record = { v: 2, user: { id: 'u-9', username: 'upgraded', role: 'user' }, data: {}, createdAt: now, lastSeen: now, authAt: now, ua: 'Firefox', gen: 0, carrier: 'cookie' };
  // Over the store's own secret, as Gatehouse opens it: a store that held 0.2's keys reads them for a while (its index, `u:u-9:sessions`).
  const sessionsOver = async (kv: KeyValueStore) => {
    const secret = await openStoreSecret(kv, sealer, clock, LEGACY_WINDOW_MS);
    expect(secret.legacyUntil).toBe(now + LEGACY_WINDOW_MS);
    return sessionStoreOver(kv, sealer, clock, LIMITS, () => Promise.resolve(secret));
  };
  return { id, key, record, sealed: sealer.seal(JSON.stringify(written), key), sessionsOver };
}

async function expectMigrated(store: KeyValueStore): Promise<void> {
  expect(await store.get('plain')).toBe('v1.abc.def');
  expect(await store.get('forever')).toBe('{"id":"u-1"}');
  expect(await store.get('colon')).toBe(':starts-with-colon');
  expect(await store.get('gone')).toBeUndefined();
  expect(await store.get('garbage')).toBeUndefined();
  expect(await store.mapGetAll('u:u-1:sessions')).toEqual(new Map([['pub1', 's:abc']]));
}

describeEachBackend(
  'upgrading a SQLite file the Keyv-based store wrote',
  (backendOf) => {
    let backend: Backend;
    let path: string;
    const session = legacySession(Date.now());
    beforeAll(() => {
      backend = backendOf();
      path = backend.url.replace('sqlite://', '');
      const now = Date.now();
      const rows = legacyRows(backend.namespace, now);
      const db = new Database(path);
      db.exec('CREATE TABLE keyv(key VARCHAR(255) PRIMARY KEY, value TEXT )');
      const insert = db.prepare('INSERT INTO keyv (key, value) VALUES (?, ?)');
      for (const [key, value] of [...rows.values, rows.map]) insert.run(key, value);
      insert.run(`${backend.namespace}:${session.key}`, JSON.stringify({ value: session.sealed, expires: now + HOUR }));
      const index = { [publicIdOf(session.id)]: { v: session.key, exp: now + HOUR } };
      insert.run(`${backend.namespace}:u:u-9:sessions`, JSON.stringify({ value: JSON.stringify(index), expires: now + HOUR }));
      db.close();
    });

    const legacyKeys = () => {
      const db = new Database(path, { readonly: true });
      try {
        return db.prepare<[], string>('SELECT key FROM keyv ORDER BY key').pluck().all();
      } finally {
        db.close();
      }
    };

    it('values, maps and a logged-in session read as before; expired and unreadable rows are dropped', async () => {
      const store = await backend.open();
      try {
        await expectMigrated(store);
        const sessions = await session.sessionsOver(store);
        expect((await sessions.load(session.id))?.record).toEqual(session.record);
        expect((await sessions.listForUser('u-9')).map((s) => s.publicId)).toEqual([publicIdOf(session.id)]);
      } finally {
        await store.close();
      }
    });

    it('moved the namespace’s rows out of the old table and left other namespaces’ rows alone', () => {
      expect(legacyKeys()).toEqual(['other_ns:plain']);
    });

    it('is done once: reopening changes nothing, and a row written since is not overwritten', async () => {
      const first = await backend.open();
      await first.set('plain', 'changed after the upgrade', HOUR);
      await first.close();
      // An old row of the same key turning up again (say, an old instance still running) must not win.
      const db = new Database(path);
      db.prepare('INSERT INTO keyv (key, value) VALUES (?, ?)').run(`${backend.namespace}:plain`, JSON.stringify({ value: 'stale', expires: Date.now() + HOUR }));
      db.close();
      const second = await backend.open();
      try {
        expect(await second.get('plain')).toBe('changed after the upgrade');
        expect(await second.get('forever')).toBe('{"id":"u-1"}');
      } finally {
        await second.close();
      }
    });
  },
  ['sqlite'],
);

describeEachBackend(
  'upgrading PostgreSQL tables the Keyv-based store wrote',
  (backendOf) => {
    let backend: Backend;
    let client: pg.Client;
    const session = legacySession(Date.now());
    beforeAll(async () => {
      backend = backendOf();
      client = new pg.Client({ connectionString: backend.url });
      await client.connect();
      const now = Date.now();
      const rows = legacyRows(backend.namespace, now);
      // The previous version's DDL: Keyv's table, and its own maps table (maps were never Keyv values here).
      await client.query(`CREATE TABLE ${backend.table} (key VARCHAR(255) PRIMARY KEY, value TEXT )`);
      await client.query(`CREATE TABLE ${backend.table}_maps (
        key VARCHAR(255) NOT NULL, field VARCHAR(255) NOT NULL, value TEXT NOT NULL, expires BIGINT, PRIMARY KEY (key, field))`);
      for (const [key, value] of [...rows.values, rows.map]) await client.query(`INSERT INTO ${backend.table} VALUES ($1, $2)`, [key, value]);
      await client.query(`INSERT INTO ${backend.table} VALUES ($1, $2)`, [
        `${backend.namespace}:${session.key}`,
        JSON.stringify({ value: session.sealed, expires: now + HOUR }),
      ]);
      await client.query(`INSERT INTO ${backend.table}_maps VALUES ($1, $2, $3, $4), ($1, 'dead', 's:x', $5)`, [
        `${backend.namespace}:u:u-9:sessions`,
        publicIdOf(session.id),
        session.key,
        now + HOUR,
        now - 1,
      ]);
    });
    afterAll(() => client.end());

    it('two processes starting together: both read the old values, maps and session, and the rows move once', async () => {
      const [first, second] = await Promise.all([backend.open(), backend.open()]);
      try {
        // Both stores' first operations race to prepare the schema and move the rows.
        await Promise.all([expectMigrated(first), expectMigrated(second)]);
        const sessions = await session.sessionsOver(second);
        expect((await sessions.load(session.id))?.record).toEqual(session.record);
        expect((await sessions.listForUser('u-9')).map((s) => s.publicId)).toEqual([publicIdOf(session.id)]);
      } finally {
        await first.close();
        await second.close();
      }
      const left = await client.query(`SELECT key FROM ${backend.table} ORDER BY key`);
      expect(left.rows.map((row: { key: string }) => row.key)).toEqual(['other_ns:plain']);
    });

    it('is done once: reopening changes nothing, and a row written since is not overwritten', async () => {
      const first = await backend.open();
      await first.set('plain', 'changed after the upgrade', HOUR);
      await first.close();
      await client.query(`INSERT INTO ${backend.table} VALUES ($1, $2)`, [
        `${backend.namespace}:plain`,
        JSON.stringify({ value: 'stale', expires: Date.now() + HOUR }),
      ]);
      const second = await backend.open();
      try {
        expect(await second.get('plain')).toBe('changed after the upgrade');
        expect(await second.get('forever')).toBe('{"id":"u-1"}');
      } finally {
        await second.close();
      }
    });
  },
  ['postgres'],
);
