import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import KeyvMysql from '@keyv/mysql';
import Database from 'better-sqlite3';
import { Keyv } from 'keyv';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyValueStore, StoreKind } from '../../server/store/keyValueStore.js';
import { keyvStore } from '../../server/store/keyvStore.js';
import { openStore } from '../../server/store/openStore.js';
import { StoreUnavailableError } from '../../server/store/storeErrors.js';
import { freePort } from './freePort.js';
import { PrivateRedisCluster } from './privateRedisCluster.js';
import { PrivateRedisSentinel } from './privateRedisSentinel.js';
import { rawRedis } from './rawRedis.js';

/**
 * The backends a suite can run on: the store kinds (Keyv: `new Keyv()` and @keyv/mysql), plus Redis Cluster
 * and Redis behind Sentinel (store kind `redis`), each started privately for
 * the suite (`PrivateRedisCluster`, `PrivateRedisSentinel`).
 */
export type BackendName = StoreKind | 'redis-cluster' | 'redis-sentinel';

/**
 * One backend under test, isolated in its own namespace (and table / file).
 * Keyv backends (`kind: 'keyv'`) have no `SESSION_STORE_URL`: only `open()`
 * reaches them, so suites that start child processes from `env` do not list them.
 */
export interface Backend {
  readonly kind: StoreKind;
  readonly name: BackendName;
  /** `SESSION_STORE_URL` for this backend (Keyv: the adapter's own URL, or a label). */
  readonly url: string;
  /** Env for `startServer`/a child process: URL plus this run's namespace (Keyv: no URL; pass `open()`'s store). */
  readonly env: Record<string, string>;
  readonly namespace: string;
  /** PostgreSQL: the base table name this backend opens with (`openStore({ table })`); @keyv/mysql: its table. */
  readonly table?: string;
  /** Opens a store on this backend's isolated key space. */
  open(timeoutMs?: number): Promise<KeyValueStore>;
  /** Every raw stored value (key → value) of this key space, as a dump of the backend would show it (SQL map fields as `key#field`). */
  dump(): Promise<Map<string, string>>;
  /** How many rows/keys this key space holds (SQL: rows of the value and map tables, expired or not). */
  count(): Promise<number>;
  /** A store of this kind whose backend fails every call (closed port, closed database, throwing map). */
  openBroken(timeoutMs: number): Promise<KeyValueStore>;
  /** Drops everything this backend created. */
  cleanup(): Promise<void>;
}

/**
 * Generous: the deadline exists for outages, which the outage tests play with
 * their own short one; on a loaded CI machine a healthy write may take > 1 s.
 */
const DEFAULT_TIMEOUT_MS = 5_000;
const timeoutEnv = { SESSION_STORE_TIMEOUT: `${DEFAULT_TIMEOUT_MS}ms` };
const uniqueName = () => `gh_t_${process.pid}_${randomBytes(4).toString('hex')}`;

function memoryBackend(): Backend {
  const namespace = uniqueName();
  let last: KeyValueStore | undefined;
  return {
    kind: 'memory',
    name: 'memory',
    url: 'memory://',
    namespace,
    env: { SESSION_STORE_URL: 'memory://', SESSION_STORE_NAMESPACE: namespace, ...timeoutEnv },
    async open(timeoutMs = DEFAULT_TIMEOUT_MS) {
      last = await openStore({ url: 'memory://', timeoutMs, namespace });
      return last;
    },
    // Memory cannot fail; this stand-in keeps the failure suite's shape (every call rejects as a failing backend's would).
    openBroken: () => Promise.resolve(failingStore('memory')),
    dump: () => Promise.reject(new Error('memory has no raw dump')),
    count: () => Promise.reject(new Error('memory has no raw count')),
    cleanup: async () => {
      await last?.close();
    },
  };
}

function sqliteBackend(): Backend {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-'));
  const path = join(dir, 'store.sqlite');
  const url = `sqlite://${path}`;
  const namespace = uniqueName();
  /** Reads the file with a connection of its own, as another process would. */
  const rows = (sql: string, ...params: unknown[]): { key: string; value: string }[] => {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare<unknown[], { key: string; value: string }>(sql).all(...params);
    } finally {
      db.close();
    }
  };
  const range = [`${namespace}:`, `${namespace};`];
  const inNamespace = (table: string, columns: string) => `SELECT ${columns} FROM ${table} WHERE key >= ? AND key < ?`;
  return {
    kind: 'sqlite',
    name: 'sqlite',
    url,
    namespace,
    env: { SESSION_STORE_URL: url, SESSION_STORE_NAMESPACE: namespace, ...timeoutEnv },
    open: (timeoutMs = DEFAULT_TIMEOUT_MS) => openStore({ url, timeoutMs, namespace }),
    openBroken: async (timeoutMs) => {
      // A database file that was closed under the store: every statement fails.
      const store = await openStore({ url: `sqlite://${join(dir, 'broken.sqlite')}`, timeoutMs, namespace });
      await store.close();
      return store;
    },
    dump: async () =>
      new Map(
        [
          ...rows(inNamespace('gatehouse_values', 'key, value'), ...range),
          ...rows(inNamespace('gatehouse_maps', "key || '#' || field AS key, value"), ...range),
        ].map((r) => [r.key, r.value]),
      ),
    count: async () => rows(inNamespace('gatehouse_values', 'key'), ...range).length + rows(inNamespace('gatehouse_maps', 'key'), ...range).length,
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Redis keys of one namespace, on every server that holds some (one server, or a cluster's masters). */
async function scanNamespace(serverUrls: readonly string[], namespace: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const serverUrl of serverUrls) {
    const redis = await rawRedis(serverUrl);
    try {
      let cursor = '0';
      // Bounded: a test namespace never holds more than a few thousand keys.
      for (let round = 0; round < 10_000; round += 1) {
        const [next, batch] = (await redis.command(['SCAN', cursor, 'MATCH', `${namespace}::*`, 'COUNT', '1000'])) as [string, string[]];
        for (const key of batch) {
          const type = (await redis.command(['TYPE', key])) as string;
          out.set(key, type === 'hash' ? JSON.stringify(await redis.command(['HGETALL', key])) : ((await redis.command(['GET', key])) as string));
        }
        cursor = next;
        if (cursor === '0') break;
      }
    } finally {
      await redis.close();
    }
  }
  return out;
}

async function unlinkNamespace(serverUrls: readonly string[], namespace: string): Promise<void> {
  for (const serverUrl of serverUrls) {
    const keys = [...(await scanNamespace([serverUrl], namespace)).keys()];
    const redis = await rawRedis(serverUrl);
    try {
      // One key per UNLINK: on a cluster node a multi-key command must stay in one slot.
      for (const key of keys) await redis.command(['UNLINK', key]);
    } finally {
      await redis.close();
    }
  }
}

interface RedisLikeOptions {
  name: BackendName;
  url: string;
  /** The servers that hold keys now (the masters). */
  servers: () => Promise<readonly string[]>;
  /** A URL of this form whose servers cannot be reached. */
  brokenUrl: (port: number) => string;
  stop?: () => Promise<void>;
}

function redisLikeBackend(options: RedisLikeOptions): Backend {
  const { url, name } = options;
  const namespace = uniqueName();
  return {
    kind: 'redis',
    name,
    url,
    namespace,
    env: { SESSION_STORE_URL: url, SESSION_STORE_NAMESPACE: namespace, ...timeoutEnv },
    open: (timeoutMs = DEFAULT_TIMEOUT_MS) => openStore({ url, timeoutMs, namespace }),
    openBroken: async (timeoutMs) => openStore({ url: options.brokenUrl(await freePort()), timeoutMs, namespace }),
    dump: async () => scanNamespace(await options.servers(), namespace),
    count: async () => (await scanNamespace(await options.servers(), namespace)).size,
    async cleanup() {
      if (options.stop) return options.stop();
      await unlinkNamespace(await options.servers(), namespace);
    },
  };
}

const redisBackend = (url: string): Backend =>
  redisLikeBackend({ name: 'redis', url, servers: async () => [url], brokenUrl: (port) => `redis://127.0.0.1:${port}` });

/** A private cluster (three masters, a replica each) with a password, for this suite alone. */
async function redisClusterBackend(): Promise<Backend> {
  const cluster = await PrivateRedisCluster.start({ password: 'cluster:s3cret@/x' });
  return redisLikeBackend({
    name: 'redis-cluster',
    url: cluster.url,
    servers: async () => (await cluster.masters()).map((master) => master.url),
    brokenUrl: (port) => `redis+cluster://127.0.0.1:${port}`,
    stop: () => cluster.destroy(),
  });
}

/** A private master, replica and three sentinels, each with its own password, for this suite alone. */
async function redisSentinelBackend(): Promise<Backend> {
  const setup = await PrivateRedisSentinel.start({ password: 'server:s3cret@/x', sentinelPassword: 'sentinel%s3cret' });
  return redisLikeBackend({
    name: 'redis-sentinel',
    url: setup.url,
    servers: async () => [(await setup.master()).url],
    brokenUrl: (port) => `redis+sentinel://127.0.0.1:${port}/nobody`,
    stop: () => setup.destroy(),
  });
}

function postgresBackend(url: string): Backend {
  // Its own tables per run (`<table>_values`, `<table>_maps`, and a legacy `<table>` if a test writes one): never the shared ones, and dropped afterwards.
  const table = uniqueName();
  const namespace = uniqueName();
  const query = async (sql: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as { key: string; value: string }[];
    } finally {
      await client.end();
    }
  };
  return {
    kind: 'postgres',
    name: 'postgres',
    url,
    namespace,
    table,
    env: { SESSION_STORE_URL: url, SESSION_STORE_NAMESPACE: namespace, ...timeoutEnv },
    open: (timeoutMs = DEFAULT_TIMEOUT_MS) => openStore({ url, timeoutMs, namespace, table }),
    openBroken: async (timeoutMs) => {
      const closed = new URL(url);
      closed.port = String(await freePort());
      return openStore({ url: closed.toString(), timeoutMs, namespace, table });
    },
    dump: async () => {
      const main = await query(`SELECT key, value FROM ${table}_values WHERE key LIKE $1`, [`${namespace}:%`]);
      const maps = await query(`SELECT key || '#' || field AS key, value FROM ${table}_maps WHERE key LIKE $1`, [`${namespace}:%`]);
      return new Map([...main, ...maps].map((r) => [r.key, r.value]));
    },
    count: async () =>
      (await query(`SELECT key FROM ${table}_values WHERE key LIKE $1`, [`${namespace}:%`])).length +
      (await query(`SELECT key FROM ${table}_maps WHERE key LIKE $1`, [`${namespace}:%`])).length,
    cleanup: async () => {
      await query(`DROP TABLE IF EXISTS ${table}, ${table}_values, ${table}_maps`);
    },
  };
}

/** A store whose every call rejects with `StoreUnavailableError`, as a failing backend's do. */
function failingStore(kind: StoreKind): KeyValueStore {
  const fail = (operation: string) => () => Promise.reject(new StoreUnavailableError(operation, { cause: new Error(`${kind} backend failure`) }));
  return {
    kind,
    get: fail('get'),
    set: fail('set'),
    add: fail('add'),
    replace: fail('replace'),
    compareAndSet: fail('compareAndSet'),
    delete: fail('delete'),
    take: fail('take'),
    increment: fail('increment'),
    addToCounter: fail('addToCounter'),
    mapSet: fail('mapSet'),
    mapDelete: fail('mapDelete'),
    mapGetAll: fail('mapGetAll'),
    ping: fail('ping'),
    sweepExpired: fail('sweep'),
    close: () => Promise.resolve(),
  };
}

/** The plain in-memory `new Keyv()` (a `Map`), handed to `keyvStore` as a Keyv instance. */
function keyvMemoryBackend(): Backend {
  const namespace = uniqueName();
  let last: { keyv: Keyv; store: KeyValueStore } | undefined;
  /** What the last opened Keyv's Map holds (key → Keyv's serialized wrapper). */
  const entries = () => [...(last?.keyv.store as Map<string, string> | undefined ?? new Map<string, string>())];
  return {
    kind: 'keyv',
    name: 'keyv',
    url: 'keyv:memory',
    namespace,
    env: { SESSION_STORE_NAMESPACE: namespace, ...timeoutEnv },
    async open(timeoutMs = DEFAULT_TIMEOUT_MS) {
      const keyv = new Keyv();
      last = { keyv, store: await keyvStore(keyv, { timeoutMs }) };
      return last.store;
    },
    // A Map cannot fail: an adapter whose every call throws stands in for one that does.
    openBroken: (timeoutMs) => keyvStore(new ThrowingMap(), { timeoutMs }),
    dump: () => Promise.resolve(new Map(entries())),
    count: () => Promise.resolve(entries().length),
    cleanup: async () => {
      await last?.store.close();
    },
  };
}

class ThrowingMap extends Map<string, unknown> {
  override get(): never {
    throw new Error('adapter failure');
  }
  override set(): never {
    throw new Error('adapter failure');
  }
  override delete(): never {
    throw new Error('adapter failure');
  }
}

/**
 * @keyv/mysql (an adapter Gatehouse does not implement itself) on the
 * machine's MariaDB: its own table per run, dropped afterwards.
 */
function keyvMysqlBackend(url: string): Backend {
  const table = uniqueName();
  const namespace = uniqueName();
  const query = async (sql: string, params: unknown[] = []) => {
    const connection = await mysql.createConnection(url);
    try {
      return (await connection.query(sql, params))[0] as { id: string; value: string }[];
    } finally {
      await connection.end();
    }
  };
  const rows = () => query(`SELECT id, value FROM \`${table}\` WHERE id LIKE ?`, [`${namespace}:%`]);
  return {
    kind: 'keyv',
    name: 'keyv',
    url,
    namespace,
    table,
    env: { SESSION_STORE_NAMESPACE: namespace, ...timeoutEnv },
    open: (timeoutMs = DEFAULT_TIMEOUT_MS) => keyvStore(new KeyvMysql({ uri: url, table }), { timeoutMs, namespace }),
    openBroken: async (timeoutMs) => {
      const closed = new URL(url);
      closed.port = String(await freePort());
      return keyvStore(new KeyvMysql({ uri: closed.toString(), table }), { timeoutMs, namespace });
    },
    dump: async () => new Map((await rows()).map((r) => [r.id, r.value])),
    count: async () => (await rows()).length,
    cleanup: async () => {
      await query(`DROP TABLE IF EXISTS \`${table}\``);
    },
  };
}

type Factory = { name: BackendName; label: string; variable?: string; make?(url: string): Backend; start?(): Promise<Backend> };

const FACTORIES: Factory[] = [
  { name: 'memory', label: 'memory', make: () => memoryBackend() },
  { name: 'sqlite', label: 'sqlite', make: () => sqliteBackend() },
  { name: 'redis', label: 'redis', variable: 'REDIS_URL', make: redisBackend },
  { name: 'postgres', label: 'postgres', variable: 'DATABASE_URL', make: postgresBackend },
  { name: 'keyv', label: 'keyv: new Keyv()', make: () => keyvMemoryBackend() },
  { name: 'keyv', label: 'keyv: @keyv/mysql', variable: 'MYSQL_URL', make: keyvMysqlBackend },
  { name: 'redis-cluster', label: 'redis-cluster', start: redisClusterBackend },
  { name: 'redis-sentinel', label: 'redis-sentinel', start: redisSentinelBackend },
];

/** The URL backends (the default of `describeEachBackend`), and with them the Keyv door. */
export const URL_KINDS: readonly BackendName[] = ['memory', 'sqlite', 'redis', 'postgres'];
export const WITH_KEYV: readonly BackendName[] = [...URL_KINDS, 'keyv'];

/** How long starting a private cluster or sentinel setup may take on a loaded machine. */
const PRIVATE_START_TIMEOUT_MS = 120_000;

/**
 * Runs `suite` once per backend. Redis, PostgreSQL and @keyv/mysql need
 * `REDIS_URL` / `DATABASE_URL` / `MYSQL_URL`: without them the suite says
 * loudly which it skipped, except under `CI`, where a missing URL is a
 * failing test, never a skip.
 */
export function describeEachBackend(
  title: string,
  suite: (backend: () => Backend) => void,
  names: readonly BackendName[] = URL_KINDS,
): void {
  for (const factory of FACTORIES.filter((f) => names.includes(f.name))) {
    const url = factory.variable ? process.env[factory.variable] : 'local';
    if (url === undefined || url === '') {
      if (process.env.CI) {
        describe(`${title} [${factory.label}]`, () => {
          it(`has ${factory.variable} set (CI never skips the ${factory.label} backend)`, () => {
            expect.fail(`${factory.variable} is not set: the ${factory.label} suite cannot run in CI`);
          });
        });
      } else {
        console.warn(`\n  ⚠ SKIPPED "${title}" on ${factory.label}: ${factory.variable} is not set\n`);
        describe.skip(`${title} [${factory.label}] (skipped: ${factory.variable} unset)`, () => {
          it('needs the service', () => undefined);
        });
      }
      continue;
    }
    describe(`${title} [${factory.label}]`, () => {
      let backend: Backend | undefined;
      // Registered before the suite's own hooks, so a private cluster or sentinel setup is up before they run.
      if (factory.start) {
        beforeAll(async () => {
          backend = await factory.start!();
        }, PRIVATE_START_TIMEOUT_MS);
      }
      suite(() => {
        backend ??= factory.make?.(url);
        if (!backend) throw new Error(`the ${factory.name} backend is started in beforeAll; call backendOf() inside a hook or test`);
        return backend;
      });
      afterAll(async () => {
        await backend?.cleanup();
      });
    });
  }
}

/**
 * One backend by its label (`memory`, `sqlite`, `redis`, `postgres`, `keyv: new Keyv()`, `keyv: @keyv/mysql`,
 * `redis-cluster`, `redis-sentinel`), outside `describeEachBackend`: for scripts such as the model checker's.
 * A URL backend needs its variable; a private cluster or sentinel setup is started (cleanup() stops it).
 */
export async function backendNamed(label: string): Promise<Backend> {
  const factory = FACTORIES.find((f) => f.label === label);
  if (!factory) throw new Error(`no backend "${label}"; known: ${FACTORIES.map((f) => f.label).join(', ')}`);
  if (factory.start) return factory.start();
  const url = factory.variable ? process.env[factory.variable] : 'local';
  if (!url) throw new Error(`the ${label} backend needs ${factory.variable}`);
  return factory.make!(url);
}

/** The labels `backendNamed` knows. */
export const BACKEND_LABELS: readonly string[] = FACTORIES.map((f) => f.label);
