import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, request, signUp } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';

// A3 (issue 18 §5, item 5): everyone behind one office NAT shares one client address. Attempts refused because an
// account is blocked check no password; if they stayed on the address's login counter, one hammered account would
// use up the address's allowance and lock the whole office out for the window.
const password = 'correct horse battery';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_MAX_FAILURES_PER_ADDRESS: '6' } });
});
afterAll(() => srv.close());

const login = (username: string, pass: string) => request(`${srv.url}/trpc/auth.login`, { body: { username, password: pass } });

describe('one address, one blocked account', () => {
  it('ten attempts at a blocked account from one address are all 429 and do not use up the address: a colleague’s login from the same address succeeds', async () => {
    await signUp(srv.url, 'nat-hammered');
    await signUp(srv.url, 'nat-colleague');
    for (let i = 0; i < 3; i += 1) expect((await login('nat-hammered', 'not the password!')).status).toBe(401);
    for (let i = 0; i < 10; i += 1) {
      const res = await login('nat-hammered', i % 2 === 0 ? 'still not it!' : password);
      expect(res.status).toBe(429);
      expect(errorCode(res)).toBe('TOO_MANY_REQUESTS');
      expect(res.headers.get('retry-after')).toBe('60');
    }
    const colleague = await login('nat-colleague', password);
    expect(colleague.status).toBe(200);
    expect(colleague.setCookies.map((line) => line.split('=')[0])).toEqual(['sid', 'sid-device']);
    // And the hammered account's owner gets in once the block is over.
    srv.clock.advance(60_000);
    expect((await login('nat-hammered', password)).status).toBe(200);
  });
});
