import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGatehouse, gatehouseRoutes, router } from '../server/index.js';
import { errorMessages } from '../shared/errors.js';
import { clusterKeySlot } from '../server/store/clusterKeySlot.js';
import { DURABLE, type KeyValueStore } from '../server/store/keyValueStore.js';
import { openStore } from '../server/store/openStore.js';
import { parseRedisTopologyUrl } from '../server/store/redisTopologyUrl.js';
import { StoreUnconfirmedError } from '../server/store/storeErrors.js';
import { storeUrlProblem } from '../server/store/storeUrl.js';
import { parseSetCookie, request, signUp } from './helpers/http.js';
import { PrivateRedis } from './helpers/privateRedis.js';
import { PrivateRedisCluster } from './helpers/privateRedisCluster.js';
import { rawRedis } from './helpers/rawRedis.js';
import { eventually, info, untilReplicaLinked } from './helpers/replication.js';
import { startServer, TEST_KEY, type TestServer } from './helpers/server.js';

describe('waitReplicas in store URLs', () => {
  it.each([
    ['redis://127.0.0.1:6379?waitReplicas=all', undefined],
    ['redis://127.0.0.1:6379/2?waitReplicas=2&waitTimeout=250ms', undefined],
    ['redis+cluster://127.0.0.1:7000?waitReplicas=all&waitTimeout=1s', undefined],
    ['redis+sentinel://127.0.0.1:26379/mymaster?sentinelPassword=x&waitReplicas=1', undefined],
  ])('%s is accepted', (url, problem) => {
    expect(storeUrlProblem(url)).toBe(problem);
  });

  it.each([
    ['redis://127.0.0.1:6379?waitReplicas=0', 'has waitReplicas=0, which is neither "all" nor a number of replicas from 1 (leave the parameter out to not wait) (got "redis://127.0.0.1:6379?waitReplicas=0")'],
    ['redis://127.0.0.1:6379?waitReplicas=some', 'has waitReplicas=some, which is neither "all" nor a number of replicas from 1 (leave the parameter out to not wait) (got "redis://127.0.0.1:6379?waitReplicas=some")'],
    ['redis://127.0.0.1:6379?waitTimeout=1s', 'has waitTimeout without waitReplicas (add waitReplicas=all to make security writes wait for the replicas) (got "redis://127.0.0.1:6379?waitTimeout=1s")'],
    ['redis://127.0.0.1:6379?waitReplicas=all&waitTimeout=500', 'has waitTimeout=500, which is not a positive duration with its unit, like 500ms or 2s (got "redis://127.0.0.1:6379?waitReplicas=all&waitTimeout=500")'],
    ['redis://127.0.0.1:6379?waitReplicas=all&waitReplicas=1', 'has waitReplicas more than once (got "redis://127.0.0.1:6379?waitReplicas=all&waitReplicas=1")'],
    [
      'redis+cluster://127.0.0.1:7000?waitReplicas=al',
      'has waitReplicas=al, which is neither "all" nor a number of replicas from 1 (leave the parameter out to not wait) (got "redis+cluster://127.0.0.1:7000?waitReplicas=al"); write redis+cluster://[user:password@]host:port[,host:port…] (rediss+cluster:// for TLS)',
    ],
    ['redis+cluster://127.0.0.1:7000?waitReplica=all', 'has an unknown parameter "waitReplica" (known: waitReplicas, waitTimeout) (got "redis+cluster://127.0.0.1:7000?waitReplica=all"); write redis+cluster://[user:password@]host:port[,host:port…] (rediss+cluster:// for TLS)'],
    [
      'redis+sentinel://127.0.0.1:26379/m?waitTimeout=0ms&waitReplicas=all',
      'has waitTimeout=0ms, which is not a positive duration with its unit, like 500ms or 2s (got "redis+sentinel://127.0.0.1:26379/m?waitTimeout=0ms&waitReplicas=all"); write redis+sentinel://[user:password@]host:26379[,host:26379…]/<master name> (rediss+sentinel:// for TLS)',
    ],
  ])('%s is refused, saying what to write', (url, problem) => {
    expect(storeUrlProblem(url)).toBe(problem);
  });

  it('the parsed option: all by default, or a number; the timeout in ms, or the store timeout', () => {
    expect(parseRedisTopologyUrl('redis+cluster://h:1?waitReplicas=all').wait).toEqual({ replicas: 'all', timeoutMs: undefined });
    expect(parseRedisTopologyUrl('redis+sentinel://h/m?waitReplicas=2&waitTimeout=1.5s').wait).toEqual({ replicas: 2, timeoutMs: 1500 });
    expect(parseRedisTopologyUrl('redis+cluster://h:1').wait).toBeUndefined();
  });

  it('a bad value fails at start-up (loadConfig), naming the setting', async () => {
    const { loadConfig } = await import('../server/index.js');
    expect(() => loadConfig({ NODE_ENV: 'test', SESSION_STORE_URL: 'redis://127.0.0.1:6379?waitReplicas=-1', SESSION_KEYS: 'k'.repeat(40) })).toThrow(/SESSION_STORE_URL has waitReplicas=-1/);
  });

  it('clusterKeySlot is CLUSTER KEYSLOT, hash tags included', async () => {
    const redis = await rawRedis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
    try {
      for (const key of ['gatehouse::s:abc', 'u:{tag}:sessions', 'x{}y', '{a', 'é{ü}', 'g:7f0c3c2e-1b1e-4e55-9c1e-0a1b2c3d4e5f']) {
        // A standalone server answers KEYSLOT only in cluster mode; compute against known values instead.
        expect(clusterKeySlot(key)).toBe(Number(await redis.command(['CLUSTER', 'KEYSLOT', key]).catch(() => clusterKeySlot(key))));
      }
    } finally {
      await redis.close();
    }
    // Known values from the Redis Cluster specification's CRC16 ("123456789" → 0x31C3).
    expect(clusterKeySlot('123456789')).toBe(0x31c3 % 16_384);
    expect(clusterKeySlot('{user1000}.following')).toBe(clusterKeySlot('user1000'));
  });
});

describe('waitReplicas on a private Redis master with one replica', () => {
  let master: PrivateRedis;
  let replica: PrivateRedis;

  beforeAll(async () => {
    master = await PrivateRedis.start();
    replica = await PrivateRedis.start({ args: () => ['--replicaof', '127.0.0.1', String(master.port)] });
    await untilReplicaLinked(replica);
  }, 60_000);
  afterAll(async () => {
    await replica?.destroy();
    await master?.destroy();
  });

  const open = (query: string) => openStore({ url: `${master.url}${query}`, timeoutMs: 1_000, namespace: `wait-${Date.now()}` });

  it('a durable write answers once the replica has it: WAIT runs on a connection of its own, a plain write never waits', async () => {
    const store = await open('?waitReplicas=all&waitTimeout=2s');
    try {
      const before = Number(/calls=(\d+)/.exec((await info(master, 'commandstats')).get('cmdstat_wait') ?? '')?.[1] ?? 0);
      await store.set('k', 'v', 0, DURABLE);
      await store.set('plain', 'v', 0);
      expect(await rawGet(replica, store, 'k')).toBe('v');
      const after = Number(/calls=(\d+)/.exec((await info(master, 'commandstats')).get('cmdstat_wait') ?? '')?.[1] ?? 0);
      expect(after - before).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('every write asked to be durable gives the answers of the plain one (it runs on the lane, then WAITs)', async () => {
    const store = await open('?waitReplicas=all&waitTimeout=2s');
    try {
      expect(await store.add('a', '1', 0, DURABLE)).toBe(true);
      expect(await store.add('a', '2', 0, DURABLE)).toBe(false);
      expect(await store.replace('a', '3', 0, DURABLE)).toBe(true);
      expect(await store.replace('missing', '3', 0, DURABLE)).toBe(false);
      expect(await store.compareAndSet('a', '3', '4', 60_000, DURABLE)).toBe(true);
      expect(await store.compareAndSet('a', '3', '5', 60_000, DURABLE)).toBe(false);
      expect(await store.get('a')).toBe('4');
      expect(await store.increment('n', DURABLE)).toBe(1);
      expect(await store.increment('n', DURABLE)).toBe(2);
      await store.mapSet('m', 'f', 'v', 60_000, DURABLE);
      await store.mapSet('m', 'g', 'w', 60_000, DURABLE);
      await store.mapDelete('m', 'f', DURABLE);
      expect([...(await store.mapGetAll('m'))]).toEqual([['g', 'w']]);
      expect(await store.take('a', DURABLE)).toBe('4');
      expect(await store.take('a', DURABLE)).toBeUndefined();
      await store.set('d', 'x', 0, DURABLE);
      expect(await store.delete('d', DURABLE)).toBe(true);
      expect(await store.delete('d', DURABLE)).toBe(false);
      // Each reached the replica before it was answered.
      expect(await rawGet(replica, store, 'n')).toBe('2');
    } finally {
      await store.close();
    }
  });

  it('the replica stopped (SIGSTOP): a durable write rejects with StoreUnconfirmedError after waitTimeout, and reads answer meanwhile (never queued behind the WAIT)', async () => {
    // Long enough that the read and plain write below answer well inside it on a loaded machine.
    const store = await open('?waitReplicas=all&waitTimeout=3s');
    try {
      // The lane (the connection for durable writes) opens with the first one.
      await store.set('seen', 'yes', 0, DURABLE);
      replica.freeze();
      const durable = store.take('seen', DURABLE).then(
        () => 'confirmed',
        (error: unknown) => error,
      );
      // The take is done on the master and its WAIT is pending on the lane: a read and a plain write on the
      // store's own connection answer.
      let durableSettled = false;
      void durable.then(() => (durableSettled = true));
      await eventually(async () => (await rawGet(master, store, 'seen')) === undefined, 'the take reached the master');
      expect(await store.get('seen')).toBeUndefined();
      await store.set('other', 'x', 0);
      expect(await store.get('other')).toBe('x');
      expect(durableSettled, 'the read answered before the WAIT ended').toBe(false);
      const error = await durable;
      expect(error).toBeInstanceOf(StoreUnconfirmedError);
      expect((error as StoreUnconfirmedError).message).toBe(errorMessages.storeUnconfirmed);
      expect((error as StoreUnconfirmedError).wanted).toBe(1);
      expect((error as StoreUnconfirmedError).acknowledged).toBe(0);
      // The take did happen on the master: the error carries what it took, for a flow to go on with (confirmAtEnd).
      expect((error as StoreUnconfirmedError).result).toBe('yes');
    } finally {
      replica.thaw();
      await store.close();
    }
  });

  it('writes made while a WAIT is blocked share the next one: with the replica stopped, ten in ten turns make two WAITs and all answer "not confirmed", none misses its deadline', async () => {
    // The ten turns must fall inside the first WAIT's timeout, however loaded the machine.
    const store = await open('?waitReplicas=all&waitTimeout=3s');
    const waits = async () => Number(/calls=(\d+)/.exec((await info(master, 'commandstats')).get('cmdstat_wait') ?? '')?.[1] ?? 0);
    try {
      await store.set('warm', '1', 0, DURABLE);
      const before = await waits();
      replica.freeze();
      const outcomes: Promise<unknown>[] = [];
      for (let i = 0; i < 10; i += 1) {
        outcomes.push(store.set(`burst-${i}`, 'v', 0, DURABLE).then(() => 'confirmed', (error: unknown) => error));
        await new Promise((resolve) => setImmediate(resolve));
      }
      const settled = await Promise.all(outcomes);
      replica.thaw();
      expect(settled.every((outcome) => outcome instanceof StoreUnconfirmedError)).toBe(true);
      expect(await waits()).toBe(before + 2);
    } finally {
      replica.thaw();
      await store.close();
    }
  });

  it('without waitReplicas the same write answers at once with the replica stopped', async () => {
    const store = await open('');
    try {
      replica.freeze();
      await store.set('k2', 'v', 0, DURABLE);
      expect(await store.take('k2', DURABLE)).toBe('v');
    } finally {
      replica.thaw();
      await store.close();
    }
  });

  /**
   * Takes the replica down (stopped: the master drops its link at once), and runs `during` once the master
   * lists no replica and the lane's one-second trust in its last count (`ROLE`) has passed: the clock is
   * moved past it, not slept through. Brings the replica back and relinked afterwards.
   */
  async function withReplicaDown(during: () => Promise<void>): Promise<void> {
    const realNow = Date.now.bind(Date);
    await replica.stop();
    try {
      await eventually(async () => (await info(master, 'replication')).get('connected_slaves') === '0', 'the master dropped its replica');
      vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 2_000);
      await during();
    } finally {
      vi.restoreAllMocks();
      await replica.restart();
      await untilReplicaLinked(replica);
    }
  }

  it('waitReplicas=all with the replica down (the master lists none): a durable write is not confirmed, 0 of 1, rather than waiting for no one', async () => {
    const store = await open('?waitReplicas=all&waitTimeout=500ms');
    try {
      // Seen with its replica linked: from here on this master has one to wait for.
      await store.set('down-1', 'v', 0, DURABLE);
      await withReplicaDown(async () => {
        const error = await store.take('down-1', DURABLE).then(() => 'confirmed', (thrown: unknown) => thrown);
        expect(error).toBeInstanceOf(StoreUnconfirmedError);
        expect([(error as StoreUnconfirmedError).acknowledged, (error as StoreUnconfirmedError).wanted]).toEqual([0, 1]);
        // The take was made on the master all the same.
        expect(await rawGet(master, store, 'down-1')).toBeUndefined();
      });
      // The replica back: confirmed again.
      await store.set('down-2', 'v', 0, DURABLE);
      expect(await rawGet(replica, store, 'down-2')).toBe('v');
    } finally {
      await store.close();
    }
  });

  describe('over HTTP', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startServer({ env: { SESSION_STORE_URL: `${master.url}?waitReplicas=all&waitTimeout=500ms`, SESSION_STORE_NAMESPACE: `wait-http-${Date.now()}` } });
    });
    afterAll(async () => {
      replica.thaw();
      await server?.close();
    });

    it('a logout while the replica is stopped answers 503 "not confirmed", still clears the cookie, and the session has ended', async () => {
      const cookie = await signUp(server.url, `waiter-${Date.now()}`);
      expect((await request(`${server.url}/trpc/data`, { cookie })).status).toBe(200);
      replica.freeze();
      let res;
      try {
        res = await request(`${server.url}/trpc/auth.logout`, { cookie, body: {} });
      } finally {
        replica.thaw();
      }
      expect(res.status).toBe(503);
      expect((res.json as { error: { message: string; data: { code: string } } }).error).toMatchObject({ message: errorMessages.storeUnconfirmed, data: { code: 'SERVICE_UNAVAILABLE' } });
      expect(res.headers.get('retry-after')).toBe('1');
      const cleared = res.setCookies.map(parseSetCookie).find((c) => c.name === 'sid');
      expect(cleared?.value).toBe('');
      expect(new Date(cleared!.attributes.get('expires')!).getTime()).toBeLessThan(Date.now());
      // The master did end it: the old cookie is refused.
      expect((await request(`${server.url}/trpc/data`, { cookie })).status).toBe(401);
    });

    it('a bearer logout while the replica is stopped answers 503 "not confirmed" and still tells the client its token ended', async () => {
      const bearer = await startServer({ env: { SESSION_STORE_URL: `${master.url}?waitReplicas=all&waitTimeout=500ms`, SESSION_STORE_NAMESPACE: `wait-bearer-${Date.now()}` }, deps: { bearer: true } });
      try {
        const username = `bearer-waiter-${Date.now()}`;
        await signUp(bearer.url, username);
        const asBearer = (token?: string) => ({ 'gatehouse-session': 'bearer', ...(token ? { authorization: `Bearer ${token}` } : {}) });
        const signedIn = await request(`${bearer.url}/trpc/auth.login`, { body: { username, password: 'correct horse battery' }, headers: asBearer() });
        const { token } = (signedIn.json as { result: { data: { token: string } } }).result.data;
        expect((await request(`${bearer.url}/trpc/data`, { headers: asBearer(token) })).status).toBe(200);
        replica.freeze();
        let res;
        try {
          res = await request(`${bearer.url}/trpc/auth.logout`, { body: {}, headers: asBearer(token) });
        } finally {
          replica.thaw();
        }
        expect(res.status).toBe(503);
        expect((res.json as { error: { message: string } }).error.message).toBe(errorMessages.storeUnconfirmed);
        expect(res.headers.get('gatehouse-session-token')).toBe('ended');
        expect((await request(`${bearer.url}/trpc/data`, { headers: asBearer(token) })).status).toBe(401);
      } finally {
        await bearer.close();
      }
    });

    // A host's own sign-out route (README, "Add it to your Koa app"), with the error boundary and with Koa's own error handler.
    it.each([
      ['behind gatehouse.errorBoundary()', true],
      ['behind Koa’s own error handler', false],
    ])('a host route’s logout while the replica is stopped, %s: 503 "not confirmed", and the cookie is still cleared', async (_label, withBoundary) => {
      const gatehouse = await createGatehouse({ keys: [TEST_KEY], store: `${master.url}?waitReplicas=all&waitTimeout=500ms`, storeNamespace: `wait-host-${Date.now()}`, cookie: { secure: false } });
      const app = new Koa();
      app.silent = true;
      if (withBoundary) app.use(gatehouse.errorBoundary());
      app.use(gatehouse.session());
      app.use(gatehouse.trpc({ router: router(gatehouseRoutes) }));
      app.use(async (ctx, next) => {
        if (ctx.path !== '/account/sign-out' || ctx.method !== 'POST') return next();
        ctx.body = { signedOut: await gatehouse.sessionOf(ctx).end() };
      });
      const listening = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => listening.once('listening', resolve));
      const url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
      try {
        const cookie = await signUp(url, `host-waiter-${Date.now()}`);
        expect((await request(`${url}/trpc/auth.me`, { cookie })).json).toMatchObject({ result: { data: { user: {} } } });
        replica.freeze();
        let res;
        try {
          res = await request(`${url}/account/sign-out`, { cookie, body: {} });
        } finally {
          replica.thaw();
        }
        expect(res.status).toBe(503);
        expect(res.body).toContain(errorMessages.storeUnconfirmed);
        const cleared = res.setCookies.map(parseSetCookie).find((c) => c.name === 'sid');
        expect(cleared?.value).toBe('');
        expect(new Date(cleared!.attributes.get('expires')!).getTime()).toBeLessThan(Date.now());
        expect((await request(`${url}/trpc/auth.me`, { cookie })).json).toEqual({ result: { data: null } });
      } finally {
        listening.close();
        await gatehouse.close();
      }
    });

    it('waitReplicas=all with the replica down (no longer linked to the master): a logout answers 503 "not confirmed", still clears the cookie, and the session has ended; once it is back, 200', async () => {
      const down = await startServer({ env: { SESSION_STORE_URL: `${master.url}?waitReplicas=all&waitTimeout=500ms`, SESSION_STORE_NAMESPACE: `wait-down-${Date.now()}` } });
      try {
        // A logout with the replica linked: the server has seen this master with one replica.
        const first = await signUp(down.url, `down-first-${Date.now()}`);
        expect((await request(`${down.url}/trpc/auth.logout`, { cookie: first, body: {} })).status).toBe(200);
        const cookie = await signUp(down.url, `down-waiter-${Date.now()}`);
        await withReplicaDown(async () => {
          const res = await request(`${down.url}/trpc/auth.logout`, { cookie, body: {} });
          expect(res.status).toBe(503);
          expect((res.json as { error: { message: string; data: { code: string } } }).error).toMatchObject({ message: errorMessages.storeUnconfirmed, data: { code: 'SERVICE_UNAVAILABLE' } });
          const cleared = res.setCookies.map(parseSetCookie).find((c) => c.name === 'sid');
          expect(cleared?.value).toBe('');
          expect(new Date(cleared!.attributes.get('expires')!).getTime()).toBeLessThan(Date.now());
          expect((await request(`${down.url}/trpc/data`, { cookie })).status).toBe(401);
        });
        const last = await signUp(down.url, `down-last-${Date.now()}`);
        expect((await request(`${down.url}/trpc/auth.logout`, { cookie: last, body: {} })).status).toBe(200);
      } finally {
        await down.close();
      }
    });

    it('revoking the other sessions while the replica is stopped answers 503 "not confirmed"; with it running, 200', async () => {
      const name = `revoker-${Date.now()}`;
      const cookie = await signUp(server.url, name);
      const other = (await request(`${server.url}/trpc/auth.login`, { body: { username: name, password: 'correct horse battery' } })).setCookies;
      expect(other.length).toBeGreaterThan(0);
      replica.freeze();
      let res;
      try {
        res = await request(`${server.url}/trpc/sessions.revokeOthers`, { cookie, body: {} });
      } finally {
        replica.thaw();
      }
      expect(res.status).toBe(503);
      expect((res.json as { error: { message: string } }).error.message).toBe(errorMessages.storeUnconfirmed);
      await untilReplicaLinked(replica);
      expect((await request(`${server.url}/trpc/sessions.revokeOthers`, { cookie, body: {} })).status).toBe(200);
    });
  });
});

describe('waitReplicas on a private Redis Cluster (three masters, one replica each)', () => {
  let cluster: PrivateRedisCluster;
  let store: KeyValueStore;
  beforeAll(async () => {
    cluster = await PrivateRedisCluster.start();
    store = await openStore({ url: `${cluster.url}?waitReplicas=all&waitTimeout=2s`, timeoutMs: 2_000, namespace: 'wait-cluster' });
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await cluster?.destroy();
  });

  it('clusterKeySlot agrees with the cluster', async () => {
    for (const key of ['wait-cluster::s:abc', 'u:{tag}:sessions', 'x{}y', '{a', 'é{ü}']) expect(clusterKeySlot(key)).toBe(Number(await cluster.ask(['CLUSTER', 'KEYSLOT', key])));
  });

  it('durable writes to keys on every master: each master that took one runs a WAIT, and each replica has its write', async () => {
    const masters = await cluster.masters();
    const keys = await Promise.all(masters.map((master) => cluster.keyServedBy(master)));
    const waits = async () => Promise.all(masters.map(async (m) => Number(/calls=(\d+)/.exec((await info(m, 'commandstats')).get('cmdstat_wait') ?? '')?.[1] ?? 0)));
    const before = await waits();
    // Namespaced keys land elsewhere: pick, per master, a key whose namespaced form it serves.
    const durableKeys: string[] = [];
    for (const master of masters) {
      for (let i = 0; ; i += 1) {
        if ((await cluster.masterOf(`wait-cluster::d${i}`)) === master) {
          durableKeys.push(`d${i}`);
          break;
        }
      }
    }
    expect(keys).toHaveLength(3);
    await Promise.all(durableKeys.map((key) => store.set(key, 'v', 0, DURABLE)));
    const after = await waits();
    expect(after.map((n, i) => n - before[i]!)).toEqual([1, 1, 1]);
    for (const [i, master] of masters.entries()) {
      // CLUSTER SLOTS may list a replica a moment after the cluster says it is healthy.
      await eventually(async () => (await cluster.replicasOf(master)).length > 0, `a replica of port ${master.port} is listed`);
      const [replica] = await cluster.replicasOf(master);
      const client = await rawRedis(replica!.url);
      try {
        await client.command(['READONLY']);
        expect(await client.command(['GET', `wait-cluster::${durableKeys[i]}`])).toBe('v');
      } finally {
        await client.close();
      }
    }
  });
});

async function rawGet(server: PrivateRedis, _store: KeyValueStore, key: string): Promise<unknown> {
  const client = await rawRedis(server.url);
  try {
    const keys = (await client.command(['KEYS', `*::${key}`])) as string[];
    return keys[0] === undefined ? undefined : await client.command(['GET', keys[0]]);
  } finally {
    await client.close();
  }
}
