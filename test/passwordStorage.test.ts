import { directoryOf } from './helpers/server.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';

// A1 of SECURITY.md: passwords are stored only as argon2id hashes with the documented parameters.
let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(() => srv.close());

describe('password storage', () => {
  it('the account record holds an argon2id hash (19 MiB, 2 passes, 1 lane, 16-byte salt), never the password', async () => {
    const password = 'A1-plaintext-must-not-be-stored';
    expect((await request(`${srv.url}/trpc/auth.register`, { body: { username: 'hash-check', password } })).status).toBe(200);
    const record = await directoryOf(srv.gatehouse).findByUsername('hash-check');
    expect(record?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(JSON.stringify(record)).not.toContain(password);
  });

  it('two accounts with the same password get different hashes (salted)', async () => {
    const password = 'same password for both';
    for (const username of ['salt-one', 'salt-two']) {
      expect((await request(`${srv.url}/trpc/auth.register`, { body: { username, password } })).status).toBe(200);
    }
    const one = await directoryOf(srv.gatehouse).findByUsername('salt-one');
    const two = await directoryOf(srv.gatehouse).findByUsername('salt-two');
    expect(one?.passwordHash).not.toBe(two?.passwordHash);
  });
});
