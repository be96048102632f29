import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type AccountsAdapter, createGatehouse, createLogger, initGatehouse } from '../server/index.js';
import { request } from './helpers/http.js';
import { TEST_KEY } from './helpers/server.js';

/**
 * SECURITY.md attack 32: the login throttle's idea of "one account" is the
 * adapter's. A success resets only the counter of the account that
 * succeeded, so an attacker's own account whose login differs from a
 * victim's only by a Unicode compatibility form never launders the
 * victim's count — and an adapter that does fold such forms gets them
 * counted as one. Tested with an adapter of each kind.
 */
const user = z.object({ id: z.string(), login: z.string() });
const defined = initGatehouse({ user });
type User = z.infer<typeof user>;

/** An adapter whose logins compare by `compare` (the key it files accounts under). */
function adapterComparing(compare: (login: string) => string) {
  const rows = new Map<string, { user: User; password: string }>();
  const adapter: AccountsAdapter<User> & { add(login: string, password: string): void } = {
    add(login, password) {
      rows.set(compare(login), { user: { id: `u-${rows.size + 1}`, login }, password });
    },
    async authenticate(login, password) {
      const row = rows.get(compare(login));
      return row && row.password === password ? { user: row.user, version: 1 } : undefined;
    },
    async findById(id) {
      const row = [...rows.values()].find((r) => r.user.id === id);
      return row ? { user: row.user, version: 1 } : undefined;
    },
    async findByLogin(login) {
      const row = rows.get(compare(login));
      return row ? { user: row.user, version: 1 } : undefined;
    },
  };
  return adapter;
}

async function serve(accounts: AccountsAdapter<User>) {
  const gatehouse = await createGatehouse(defined, {
    keys: [TEST_KEY],
    accounts,
    cookie: { secure: false },
    logger: createLogger('silent'),
    throttle: { perAccount: 5, perAddress: 1_000 },
  });
  const app = new Koa();
  app.silent = true;
  app.use(gatehouse.session());
  app.use(gatehouse.trpc({ router: defined.router({ ...defined.routes }) }));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    login: (username: string, password: string) => request(`${url}/trpc/auth.login`, { body: { username, password } }),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await gatehouse.close();
    },
  };
}

describe('an adapter that compares with toLowerCase() (the README’s kind): "ﬀoo" and "ffoo" are two accounts', () => {
  const accounts = adapterComparing((login) => login.toLowerCase());
  let app: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    accounts.add('ffoo', 'the victim’s password');
    accounts.add('ﬀoo', 'the attacker’s password');
    app = await serve(accounts);
  });
  afterAll(() => app.close());

  it('a success as the attacker’s "ﬀoo" does not reset the victim’s counter: the fifth wrong guess at "ffoo" blocks it (429 for the right password)', async () => {
    for (let i = 0; i < 4; i += 1) expect((await app.login('ffoo', `guess ${i}!`)).status).toBe(401);
    expect((await app.login('ﬀoo', 'the attacker’s password')).status).toBe(200);
    expect((await app.login('ffoo', 'guess 4!')).status).toBe(401);
    expect((await app.login('ffoo', 'the victim’s password')).status).toBe(429);
  });

  it('and the attacker’s own account is counted apart: its right password still works', async () => {
    expect((await app.login('ﬀoo', 'the attacker’s password')).status).toBe(200);
  });
});

describe('an adapter that folds compatibility forms and case (NFKC, lower-cased): "ﬀoo", "FFOO" and "ffoo" are one account', () => {
  const accounts = adapterComparing((login) => login.normalize('NFKC').toLowerCase());
  let app: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    accounts.add('ffoo', 'the owner’s password');
    app = await serve(accounts);
  });
  afterAll(() => app.close());

  it('wrong guesses in any of its spellings count together: the fifth blocks the account, whichever spelling comes next', async () => {
    for (const spelling of ['ﬀoo', 'FFOO', 'ffoo', 'ﬀOO', 'Ffoo']) expect((await app.login(spelling, 'a wrong guess!')).status).toBe(401);
    expect((await app.login('ffoo', 'the owner’s password')).status).toBe(429);
    expect((await app.login('ﬀoo', 'the owner’s password')).status).toBe(429);
  });
});
