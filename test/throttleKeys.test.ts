import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createGatehouse, createLogger, initGatehouse } from '../server/index.js';
import { defaultLoginKey } from '../server/throttle/loginThrottle.js';
import { request, sessionCookie } from './helpers/http.js';
import { TEST_KEY } from './helpers/server.js';
import { startTeamServer, type TeamServer } from './helpers/teamApp.js';

// A3 for a team's own logins (emails, matched case-insensitively by its adapter): every spelling of one
// login is one account to the throttle, and no login name can reach another counter.
let srv: TeamServer;
beforeAll(async () => {
  srv = await startTeamServer({ throttle: { perAccount: 3, perAddress: 1_000 } });
  srv.accounts.add('alice@shop.example', 'alice password 1', 'member');
});
afterAll(() => srv.close());

const login = (username: string, password: string) => request(`${srv.url}/api/trpc/auth.login`, { body: { username, password } });

describe('the per-account login counter', () => {
  it('counts every spelling the adapter takes for one account together: the 4th wrong guess, in yet another case, is 429; a spelling it does not match is a login of its own', async () => {
    for (const spelling of ['ALICE@shop.example', 'Alice@Shop.Example', ' alice@SHOP.example ']) {
      expect((await login(spelling, 'wrong password!')).status).toBe(401);
    }
    const blocked = await login('ALICE@SHOP.EXAMPLE', 'alice password 1');
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe('60');
    // Full-width letters: this adapter compares with toLowerCase(), so to it this is no account (not Alice's, not blocked).
    expect((await login('ａｌｉｃｅ@shop.example', 'alice password 1')).status).toBe(401);
    const alsoBlocked = await login('alice@shop.example', 'alice password 1');
    expect(alsoBlocked.status).toBe(429);
    srv.clock.advance(60_000);
    expect((await login('alice@shop.example', 'alice password 1')).status).toBe(200);
  });

  it('a login name cannot fill a signed-in user’s password-check counter: 5 failed logins as "id:<their id>" leave their reauthenticate working', async () => {
    const bob = srv.accounts.add('bob@shop.example', 'bob password 12', 'member');
    for (let i = 0; i < 5; i++) await login(`id:${bob.id}`, 'wrong password!');
    expect((await login(`id:${bob.id}`, 'wrong password!')).status).toBe(429);
    const signedIn = await login('bob@shop.example', 'bob password 12');
    expect(signedIn.status).toBe(200);
    const again = await request(`${srv.url}/api/trpc/auth.reauthenticate`, { body: { password: 'bob password 12' }, headers: { cookie: sessionCookie(signedIn) } });
    expect(again.status).toBe(200);
  });

  it('keys a login by its NFKC, trimmed, lower-cased form unless the adapter says how its logins compare', () => {
    expect(defaultLoginKey(' Ａlice@Shop.example ')).toBe('alice@shop.example');
  });
});

describe('an adapter whose logins compare otherwise (case-sensitive) says so with loginKey', () => {
  it('a success as "bob" does not reset the count of guesses at "Bob": the 4th guess at Bob is 429', async () => {
    const people = new Map([
      ['Bob', { id: 'u-Bob', password: 'victim password 1' }],
      ['bob', { id: 'u-bob', password: 'attacker password 1' }],
    ]);
    const gh = initGatehouse({ user: z.object({ id: z.string() }) });
    const gatehouse = await createGatehouse(gh, {
      keys: [TEST_KEY],
      cookie: { secure: false },
      logger: createLogger('silent'),
      throttle: { perAccount: 3, perAddress: 1_000 },
      accounts: {
        loginKey: (login) => login.normalize('NFKC'),
        async authenticate(login, password) {
          const person = people.get(login);
          return person && person.password === password ? { user: { id: person.id }, version: 1 } : undefined;
        },
        async findById(id) {
          return { user: { id }, version: 1 };
        },
      },
    });
    const app = new Koa();
    app.use(gatehouse.session()).use(gatehouse.trpc({ router: gh.router({ ...gh.routes }) }));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const attempt = (username: string, password: string) => request(`${base}/trpc/auth.login`, { body: { username, password } });
    try {
      expect((await attempt('Bob', 'guess one!')).status).toBe(401);
      expect((await attempt('Bob', 'guess two!')).status).toBe(401);
      expect((await attempt('bob', 'attacker password 1')).status).toBe(200);
      expect((await attempt('Bob', 'guess three')).status).toBe(401);
      expect((await attempt('Bob', 'guess four!')).status).toBe(429);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await gatehouse.close();
    }
  });
});
