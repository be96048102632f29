import KeyvMysql from '@keyv/mysql';
import { Keyv } from 'keyv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, GatehouseOptionsError } from '../server/index.js';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { keyvStore } from '../server/store/keyvStore.js';
import { StoreUnavailableError } from '../server/store/storeErrors.js';
import { captureLogs } from './helpers/logCapture.js';
import { run } from './helpers/run.js';
import { TEST_KEY } from './helpers/server.js';
import { TcpProxy } from './helpers/tcpProxy.js';

const mysqlUrl = process.env.MYSQL_URL;
if (!mysqlUrl && process.env.CI) throw new Error('MYSQL_URL must be set in CI: the @keyv/mysql outage suite may not skip');
if (!mysqlUrl) console.warn('\n!!! MYSQL_URL is not set: SKIPPING the @keyv/mysql outage tests\n');

const LONG = 60_000;

/** A Keyv storage adapter whose every call throws, as one over a failing backend does. */
class ThrowingMap extends Map<string, unknown> {
  override get(): never {
    throw new Error('adapter failure');
  }
}

const warningsOf = (logs: ReturnType<typeof captureLogs>) => logs.entries().filter((entry) => entry['event'] === 'store.startupWarning');

describe('keyvStore: any Keyv adapter as the store', () => {
  it('when Gatehouse starts on it, one warning names the adapter and what a second instance would break', async () => {
    const logs = captureLogs('info');
    const store = await keyvStore(new Keyv(), { timeoutMs: 1_000 });
    const first = await createGatehouse({ keys: [TEST_KEY], store, logger: logs.logger });
    // The same store handed to a second Gatehouse in this process: still one warning.
    const second = await createGatehouse({ keys: [TEST_KEY], store, logger: logs.logger });
    const warnings = warningsOf(logs);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, store: 'keyv' });
    const message = String(warnings[0]!['msg']);
    expect(message).toContain('keyvStore(Map) is single-instance');
    expect(message).toContain('atomic only inside this process');
    expect(message).toContain('a logout or revocation can be undone');
    expect(message).toContain('two racing password changes can both succeed');
    expect(message).toContain('use redis://, postgres://');
    await first.close();
    await second.close().catch(() => undefined);
  });

  it('a store with a URL starts without that warning', async () => {
    const logs = captureLogs('info');
    const gatehouse = await createGatehouse({ keys: [TEST_KEY], store: 'memory://', logger: logs.logger });
    expect(warningsOf(logs)).toEqual([]);
    await gatehouse.close();
  });

  it('the warning says the name it is given, and the adapter’s class by default', async () => {
    const named = await keyvStore(new Map(), { timeoutMs: 1_000, name: 'sessions-cache' });
    expect(named.startupWarning).toContain('keyvStore(sessions-cache)');
    class KeyvCustom extends Map<string, unknown> {}
    expect((await keyvStore(new KeyvCustom(), { timeoutMs: 1_000 })).startupWarning).toContain('keyvStore(KeyvCustom)');
  });

  it('a Keyv or an adapter handed to createGatehouse without keyvStore is refused with the fix', async () => {
    await expect(createGatehouse({ keys: [TEST_KEY], store: new Keyv() as never })).rejects.toThrow(GatehouseOptionsError);
    await expect(createGatehouse({ keys: [TEST_KEY], store: new Map() as never })).rejects.toThrow(
      'options.store is a Keyv or a Keyv storage adapter: wrap it, store: await keyvStore(it, { timeoutMs: 1000 })',
    );
  });

  it('any other store option that is not a store says what is accepted, and never echoes a URL (it may hold a password)', async () => {
    const unknownScheme = createGatehouse({ keys: [TEST_KEY], store: 'mysql://app:s3cret@db/app' });
    await expect(unknownScheme).rejects.toThrow('options.store must start with one of memory://, sqlite://, redis://, rediss://, redis+cluster://, rediss+cluster://, redis+sentinel://, rediss+sentinel://, postgres://, postgresql://');
    await expect(unknownScheme).rejects.not.toThrow('s3cret');
    await expect(createGatehouse({ keys: [TEST_KEY], store: {} as never })).rejects.toThrow(
      'options.store must be a store URL or a store instance (openStore, redisStoreFor, keyvStore)',
    );
  });

  it('something that is neither a Keyv nor an adapter, or no deadline, is a TypeError that says what is needed', async () => {
    await expect(keyvStore({ get() {} } as never, { timeoutMs: 1_000 })).rejects.toThrow(
      'keyvStore() needs a Keyv instance or a Keyv storage adapter (an object with get, set, delete and clear)',
    );
    await expect(keyvStore(new Map(), { timeoutMs: 0 })).rejects.toThrow('options.timeoutMs must be a positive number of ms');
  });

  it('a Keyv that swallows errors (the default) is switched to throwOnErrors: a failing adapter is a 503, never a silent undefined', async () => {
    const keyv = new Keyv({ store: new ThrowingMap() });
    expect(keyv.throwOnErrors).toBe(false);
    const store = await keyvStore(keyv, { timeoutMs: 300 });
    expect(keyv.throwOnErrors).toBe(true);
    await expect(store.get('k')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.add('k', 'v', LONG)).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('two stores over one Keyv share its locks: of 20 concurrent swaps split across them exactly one wins', async () => {
    const keyv = new Keyv();
    const [a, b] = [await keyvStore(keyv, { timeoutMs: 1_000 }), await keyvStore(keyv, { timeoutMs: 1_000 })];
    await a.set('cas', 'start', LONG);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).compareAndSet('cas', 'start', `w${i}`, LONG)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await b.get('cas')).toBe(`w${results.indexOf(true)}`);
  });

  describe('keysWithPrefix', () => {
    /** An adapter that can get, set and delete but not list its keys: Keyv gives it no iterator. */
    class NoIteratorAdapter {
      readonly #entries = new Map<string, unknown>();
      get(key: string) {
        return this.#entries.get(key);
      }
      set(key: string, value: unknown) {
        this.#entries.set(key, value);
        return true;
      }
      delete(key: string) {
        return this.#entries.delete(key);
      }
      clear() {
        this.#entries.clear();
      }
    }

    it('an adapter Keyv cannot iterate gives a store without the method (callers test for it), which works otherwise', async () => {
      const store = await keyvStore(new NoIteratorAdapter(), { timeoutMs: 1_000 });
      expect('keysWithPrefix' in store).toBe(false);
      expect(store.keysWithPrefix).toBeUndefined();
      await store.set('k', 'v', LONG);
      expect(await store.get('k')).toBe('v');
    });

    it('over a Map it lists the keys of its own namespace only, not another store’s on the same Map', async () => {
      const shared = new Map<string, unknown>();
      const mine = await keyvStore(shared, { timeoutMs: 1_000, namespace: 'mine' });
      const theirs = await keyvStore(shared, { timeoutMs: 1_000, namespace: 'theirs' });
      await mine.set('p:1', 'x', LONG);
      await mine.mapSet('p:m', 'f', 'v', LONG);
      await theirs.set('p:2', 'x', LONG);
      expect([...(await mine.keysWithPrefix!('p:', 10))].sort()).toEqual(['p:1', 'p:m']);
      expect(await theirs.keysWithPrefix!('p:', 10)).toEqual(['p:2']);
    });
  });

  it('an adapter without the keyv package installed is one error naming the package to install', async () => {
    const result = await run(process.execPath, ['--import', 'tsx', 'test/helpers/keyvStoreWithoutKeyv.ts']);
    expect(result.code).toBe(1);
    expect(result.stdout.trim()).toBe('keyvStore() was given a Map adapter, which needs the keyv package: npm install keyv@~5.6');
  });
});

describe.skipIf(!mysqlUrl)('keyvStore over @keyv/mysql behind a proxy that freezes (the shared MariaDB is never touched)', () => {
  const table = `gh_t_${process.pid}_outage`;
  let proxy: TcpProxy;
  let store: KeyValueStore;
  beforeAll(async () => {
    const target = new URL(mysqlUrl!);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 3306) });
    const viaProxy = new URL(mysqlUrl!);
    viaProxy.port = String(proxy.port);
    store = await keyvStore(new KeyvMysql({ uri: viaProxy.toString(), table }), { timeoutMs: 300, namespace: table });
  });
  afterAll(async () => {
    proxy.thaw();
    await store.set('cleanup', 'x', LONG).catch(() => undefined);
    const cleanup = new KeyvMysql({ uri: mysqlUrl!, table });
    await cleanup.query(`DROP TABLE IF EXISTS \`${table}\``);
    await store.close();
    await proxy.stop();
  });

  it('frozen: every operation answers StoreUnavailableError by its deadline instead of hanging; thawed, it works again', async () => {
    await store.set('k', 'v1', LONG);
    proxy.freeze();
    const started = Date.now();
    const calls: [string, () => Promise<unknown>][] = [
      ['get', () => store.get('k')],
      ['set', () => store.set('other', 'v', LONG)],
      ['add', () => store.add('new', 'v', LONG)],
      ['compareAndSet', () => store.compareAndSet('k', 'v1', 'v2', LONG)],
      ['delete', () => store.delete('gone')],
      ['addToCounter', () => store.addToCounter('ctr', 1, Date.now(), LONG)],
      ['mapSet', () => store.mapSet('m', 'f', 'v', LONG)],
      ['mapGetAll', () => store.mapGetAll('m')],
      ['ping', () => store.ping()],
    ];
    const outcomes = await Promise.allSettled(calls.map(([, call]) => call()));
    // A hang guard, not a timing claim: the deadline is 300 ms; a call that ignored it would wait for the thaw.
    expect(Date.now() - started).toBeLessThan(5_000);
    outcomes.forEach((outcome, i) => {
      expect(outcome.status, calls[i]![0]).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason, calls[i]![0]).toBeInstanceOf(StoreUnavailableError);
    });

    proxy.thaw();
    await eventually(async () => (await store.get('k').catch(() => 'unavailable')) !== 'unavailable');
    await store.set('k', 'after', LONG);
    expect(await store.get('k')).toBe('after');
  });

  it('a write that waited behind a frozen one past its deadline never lands, even after the thaw', async () => {
    await store.set('queued', 'before', LONG);
    proxy.freeze();
    const inFlight = store.set('queued', 'in flight', LONG);
    const waiting = store.set('queued', 'waited too long', LONG);
    await expect(inFlight).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(waiting).rejects.toBeInstanceOf(StoreUnavailableError);
    proxy.thaw();
    // Once a later write on the key has had its turn, the waiting one has either run or been dropped.
    await eventually(async () => (await store.add('queued', 'x', LONG).catch(() => 'unavailable')) === false);
    expect(await store.get('queued')).not.toBe('waited too long');
  });
});

/** Polls (bounded) until `check` holds. */
async function eventually(check: () => Promise<boolean>, rounds = 100): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('never happened');
}
