import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, request, type RawResponse } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';
import { switchableStore } from './helpers/switchableStore.js';
import { Gate, gatedHasher } from './helpers/gates.js';
import { createPasswordHasher } from '../server/accounts/passwordHasher.js';

// Attack 18 of SECURITY.md (A3): password guessing against one account, from one or many addresses.
const password = 'correct horse battery';
const wrong = 'not the password!';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({
    env: {
      TRUST_PROXY: '1',
      LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
      LOGIN_MAX_FAILURES_PER_ADDRESS: '6',
      REGISTER_MAX_PER_ADDRESS: '3',
      LOGIN_THROTTLE_WINDOW: '15m',
    },
  });
});
afterAll(() => srv.close());

let nextAddress = 1;
/** A fresh client address per call site: the proxy is trusted, so X-Forwarded-For names it. */
const freshAddress = () => `203.0.113.${nextAddress++}`;

const login = (username: string, pass: string, address: string) =>
  request(`${srv.url}/trpc/auth.login`, { body: { username, password: pass }, headers: { 'x-forwarded-for': address } });
const register = (username: string, address: string) =>
  request(`${srv.url}/trpc/auth.register`, { body: { username, password }, headers: { 'x-forwarded-for': address } });

function expectThrottled(res: RawResponse, seconds: number) {
  expect(res.status).toBe(429);
  expect(errorCode(res)).toBe('TOO_MANY_REQUESTS');
  expect(res.headers.get('retry-after')).toBe(String(seconds));
  expect((res.json as { error: { data: { retryAfterSeconds?: number } } }).error.data.retryAfterSeconds).toBe(seconds);
  expect(res.setCookies).toEqual([]);
}

describe('login throttling per account', () => {
  it('after 3 wrong passwords the account answers 429 with Retry-After: 60, even to the right password, and the right password works once the clock passes it', async () => {
    const address = freshAddress();
    expect((await register('victim-one', address)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await login('victim-one', wrong, address)).status).toBe(401);
    expectThrottled(await login('victim-one', password, address), 60);
    srv.clock.advance(59_000);
    expectThrottled(await login('victim-one', password, address), 1);
    srv.clock.advance(1_000);
    expect((await login('victim-one', password, address)).status).toBe(200);
  });

  it('wrong passwords spread over many addresses still block the account, from any address', async () => {
    expect((await register('victim-two', freshAddress())).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await login('victim-two', wrong, freshAddress())).status).toBe(401);
    expectThrottled(await login('victim-two', password, freshAddress()), 60);
    srv.clock.advance(60_000);
    expect((await login('victim-two', password, freshAddress())).status).toBe(200);
  });

  it('a success resets the account counter: two failures, a success, two more failures are all answered normally', async () => {
    const address = freshAddress();
    expect((await register('victim-three', address)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await login('victim-three', wrong, address)).status).toBe(401);
    expect((await login('victim-three', password, address)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await login('victim-three', wrong, address)).status).toBe(401);
    expect((await login('victim-three', password, address)).status).toBe(200);
  });

  it('each new block doubles (60, 120, 240, 480 s) up to 900 s and no further, and every block ends by itself', async () => {
    expect((await register('victim-four', freshAddress())).status).toBe(200);
    for (const seconds of [60, 120, 240, 480, 900, 900]) {
      for (let i = 0; i < 3; i++) expect((await login('victim-four', wrong, freshAddress())).status).toBe(401);
      expectThrottled(await login('victim-four', password, freshAddress()), seconds);
      // Attempts refused during a block do not count and do not extend it.
      expectThrottled(await login('victim-four', wrong, freshAddress()), seconds);
      srv.clock.advance(seconds * 1000);
    }
    expect((await login('victim-four', password, freshAddress())).status).toBe(200);
  });

  it('10 wrong passwords sent at once are not all checked: 3 get 401, the other 7 get 429', async () => {
    const address = freshAddress();
    expect((await register('victim-burst', address)).status).toBe(200);
    const burst = await Promise.all(Array.from({ length: 10 }, () => login('victim-burst', wrong, freshAddress())));
    const statuses = burst.map((res) => res.status).sort();
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
    srv.clock.advance(900_000);
    expect((await login('victim-burst', password, address)).status).toBe(200);
  });

  it('unknown usernames are counted and answered exactly like existing ones', async () => {
    const address = freshAddress();
    for (let i = 0; i < 3; i++) expect((await login('nobody-at-all', wrong, address)).status).toBe(401);
    expectThrottled(await login('nobody-at-all', wrong, address), 60);
    srv.clock.advance(60_000);
  });
});

describe('login throttling per client address', () => {
  it('6 failures from one address over different accounts block that address for every account, while another address still logs in', async () => {
    const attacker = freshAddress();
    expect((await register('sprayed-user', freshAddress())).status).toBe(200);
    for (let i = 0; i < 6; i++) expect((await login(`spray-target-${i}`, wrong, attacker)).status).toBe(401);
    expectThrottled(await login('sprayed-user', password, attacker), 60);
    expect((await login('sprayed-user', password, freshAddress())).status).toBe(200);
    srv.clock.advance(60_000);
    expect((await login('sprayed-user', password, attacker)).status).toBe(200);
  });

  it('a success in between does not reset the address: 5 failures, the attacker’s own correct login, then the 6th failure still blocks the address', async () => {
    const attacker = freshAddress();
    expect((await register('sprayer-own', freshAddress())).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await login(`spray2-target-${i}`, wrong, attacker)).status).toBe(401);
    // The attacker interleaves a login to their own account: it must not launder the address's count.
    expect((await login('sprayer-own', password, attacker)).status).toBe(200);
    expect((await login('spray2-target-5', wrong, attacker)).status).toBe(401);
    expectThrottled(await login('spray2-target-6', wrong, attacker), 60);
    srv.clock.advance(60_000);
  });

  it('six correct logins at once with a limit of 3 per account: the refused ones say Retry-After: 1, and a retry a moment later succeeds', async () => {
    // The first three are held inside their password check, so the other three meet a full counter of attempts in flight.
    const verify = new Gate();
    const held = await startServer({
      env: { TRUST_PROXY: '1', LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' },
      deps: { hasher: gatedHasher(await createPasswordHasher(), { verify }) },
    });
    try {
      const at = (address: string) =>
        request(`${held.url}/trpc/auth.login`, { body: { username: 'parallel-right', password }, headers: { 'x-forwarded-for': address } });
      expect((await request(`${held.url}/trpc/auth.register`, { body: { username: 'parallel-right', password } })).status).toBe(200);
      verify.arm(3);
      const first = [at(freshAddress()), at(freshAddress()), at(freshAddress())];
      await verify.held(3);
      const refused = await Promise.all([at(freshAddress()), at(freshAddress()), at(freshAddress())]);
      for (const res of refused) expectThrottled(res, 1);
      verify.release();
      for (const res of await Promise.all(first)) expect(res.status).toBe(200);
      // Nothing was wrong: no failure is counted, so the next attempt goes through at once.
      expect((await at(freshAddress())).status).toBe(200);
    } finally {
      await held.close();
    }
  });
});

describe('registration throttling per client address', () => {
  it('3 registrations per window from one address, the 4th is 429 until the window ends; another address is not affected', async () => {
    const address = freshAddress();
    for (let i = 0; i < 3; i++) expect((await register(`reg-${i}`, address)).status).toBe(200);
    expectThrottled(await register('reg-3', address), 900);
    expect((await register('reg-other', freshAddress())).status).toBe(200);
    srv.clock.advance(900_000);
    expect((await register('reg-3', address)).status).toBe(200);
  });
});

describe('the client address behind a proxy', () => {
  it('with TRUST_PROXY=1 only the last X-Forwarded-For hop counts: prepended spoofed hops land on the same counter', async () => {
    const proxySeen = freshAddress();
    for (let i = 0; i < 3; i++) expect((await register(`hop-${i}`, `10.9.9.${i}, ${proxySeen}`)).status).toBe(200);
    expectThrottled(await register('hop-3', `10.9.9.3, ${proxySeen}`), 900);
    srv.clock.advance(900_000);
  });

  it('without TRUST_PROXY a spoofed X-Forwarded-For does not change the address: the socket address is throttled', async () => {
    const direct = await startServer({ env: { REGISTER_MAX_PER_ADDRESS: '2' } });
    try {
      const reg = (username: string, spoofed: string) =>
        request(`${direct.url}/trpc/auth.register`, { body: { username, password }, headers: { 'x-forwarded-for': spoofed } });
      expect((await reg('direct-0', '198.51.100.1')).status).toBe(200);
      expect((await reg('direct-1', '198.51.100.2')).status).toBe(200);
      const third = await reg('direct-2', '198.51.100.3');
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toBe('900');
    } finally {
      await direct.close();
    }
  });
});

describe('when the store that keeps the counters is unavailable', () => {
  it('login and register answer 503, never an unthrottled attempt, and work again once it is back', async () => {
    const outage = await switchableStore();
    const flaky = await startServer({ deps: { store: outage.store } });
    try {
      const reg = (username: string) => request(`${flaky.url}/trpc/auth.register`, { body: { username, password } });
      expect((await reg('outage-user')).status).toBe(200);
      outage.down = true;
      const login = await request(`${flaky.url}/trpc/auth.login`, { body: { username: 'outage-user', password } });
      expect(login.status).toBe(503);
      expect(errorCode(login)).toBe('SERVICE_UNAVAILABLE');
      expect(login.setCookies).toEqual([]);
      expect((await reg('outage-user-2')).status).toBe(503);
      outage.down = false;
      expect((await request(`${flaky.url}/trpc/auth.login`, { body: { username: 'outage-user', password } })).status).toBe(200);
    } finally {
      await flaky.close();
    }
  });

  // As when one cluster shard is down and the others answer: the keys of one login live on different shards.
  it.each([
    ['the accounts', (key: string) => key.startsWith('an:') || key.startsWith('ai:')],
    ['the per-address counters', (key: string) => key.startsWith('throttle:login:addr:')],
  ])('logins that met a partial outage (%s down) are given back: afterwards the right password works, not 429 for the whole window', async (_what, down) => {
    const outage = await switchableStore();
    const flaky = await startServer({ deps: { store: outage.store }, env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' } });
    try {
      const attempt = () => request(`${flaky.url}/trpc/auth.login`, { body: { username: 'shard-user', password } });
      expect((await request(`${flaky.url}/trpc/auth.register`, { body: { username: 'shard-user', password } })).status).toBe(200);
      outage.downFor = down;
      for (let i = 0; i < 6; i += 1) expect((await attempt()).status).toBe(503);
      outage.downFor = undefined;
      expect((await attempt()).status).toBe(200);
    } finally {
      await flaky.close();
    }
  });
});
