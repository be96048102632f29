import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../server/store/openStore.js';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { request } from './helpers/http.js';
import { startServer, TEST_KEY, type TestServer } from './helpers/server.js';
import { storeSecretOf } from './helpers/storeSecret.js';

// A3: the throttle is kept in the store, so an attacker cannot spread guesses over instances behind a load balancer.
const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL && process.env.CI) throw new Error('REDIS_URL must be set in CI: the cross-instance throttle test needs Redis.');

/** The per-address register counter of 127.0.0.1, its key part under the store's secret (the servers' SESSION_KEYS: TEST_KEY). */
const registerCounterOf = async (store: KeyValueStore) => `throttle:register:addr:${(await storeSecretOf(store, [TEST_KEY])()).part('127.0.0.1')}`;

const backends: { name: string; open: () => Promise<KeyValueStore> }[] = [
  { name: 'one memory store shared in-process', open: () => openStore({ url: 'memory://', timeoutMs: 1000 }) },
  ...(REDIS_URL ? [{ name: `Redis (${REDIS_URL})`, open: () => openStore({ url: REDIS_URL, timeoutMs: 1000 }) }] : []),
];

describe.each(backends)('two Gatehouse instances on $name', ({ open }) => {
  let store: KeyValueStore;
  let first: TestServer;
  let second: TestServer;
  let registerCounter: string;
  // Unique per run: Redis outlives the test, and its counters must not leak into the next run.
  const run = Date.now().toString(36);
  const password = 'correct horse battery';

  beforeAll(async () => {
    store = await open();
    registerCounter = await registerCounterOf(store);
    // Each instance closes its store on close(); the shared one is closed once, here.
    const shared = new Proxy(store, {
      get(target, property) {
        if (property === 'close') return () => Promise.resolve();
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const env = { LOGIN_MAX_FAILURES_PER_ACCOUNT: '4', REGISTER_MAX_PER_ADDRESS: '2' };
    // The per-address register counter of 127.0.0.1 outlives runs on a shared Redis: start it from zero.
    await store.delete(registerCounter);
    first = await startServer({ env, deps: { store: shared } });
    second = await startServer({ env, deps: { store: shared, clock: first.clock } });
  });
  afterAll(async () => {
    // Leave no counter behind that would throttle another suite registering from 127.0.0.1.
    await store?.delete(registerCounter);
    await first?.close();
    await second?.close();
    await store?.close();
  });

  const login = (srv: TestServer, username: string, pass: string) =>
    request(`${srv.url}/trpc/auth.login`, { body: { username, password: pass } });

  it('wrong passwords alternated between the instances add up: after 4 in total both answer 429, and the right password works on either after the block', async () => {
    const username = `x${run}-acct`;
    expect((await request(`${first.url}/trpc/auth.register`, { body: { username, password } })).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await login(i % 2 ? second : first, username, 'wrong password!')).status).toBe(401);
    for (const srv of [first, second]) {
      const res = await login(srv, username, password);
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('60');
    }
    first.clock.advance(60_000);
    expect((await login(second, username, password)).status).toBe(200);
  });

  it('registrations from one address add up across instances', async () => {
    // Both servers see 127.0.0.1, so they share one per-address counter; the first test registered once.
    await store.delete(registerCounter);
    expect((await request(`${first.url}/trpc/auth.register`, { body: { username: `x${run}-r1`, password } })).status).toBe(200);
    expect((await request(`${second.url}/trpc/auth.register`, { body: { username: `x${run}-r2`, password } })).status).toBe(200);
    const third = await request(`${first.url}/trpc/auth.register`, { body: { username: `x${run}-r3`, password } });
    expect(third.status).toBe(429);
  });
});
