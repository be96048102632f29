import { directoryOf } from './helpers/server.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPasswordHasher } from '../server/index.js';
import { request } from './helpers/http.js';
import { run } from './helpers/run.js';
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

// Issue 19, point 7: argon2 (a native module) is an optional peer dependency, installed only by teams that use
// the built-in accounts or createPasswordHasher(); a team with its own users never installs it.
describe('argon2, an optional peer dependency', () => {
  const without = (scenario: string) => run(process.execPath, ['--import', 'tsx', 'test/helpers/startWithoutPackage.ts', 'argon2', scenario]);
  const install = "Gatehouse's built-in accounts (createGatehouse without options.accounts) and createPasswordHasher() hash passwords with argon2id, which needs the argon2 package: npm install argon2@^0.45";

  it('without argon2 installed, a team with its own accounts adapter starts (the package entry never loads argon2)', async () => {
    expect((await without('own-users')).stdout.trim()).toBe('started');
  });

  it('without argon2 installed, the built-in accounts fail at start with the npm install line, and so does createPasswordHasher()', async () => {
    for (const scenario of ['built-in', 'hasher']) {
      const result = await without(scenario);
      expect(result.code).toBe(1);
      expect(result.stdout.trim()).toBe(install);
    }
  });

  it('an argon2id hash written by 0.2.0 (argon2 a direct dependency then) still verifies', async () => {
    const hasher = await createPasswordHasher();
    const from020 = '$argon2id$v=19$m=19456,p=1,t=2$x4N1Ot0ggz7MRgzc7hyCtg$Dpeb7HJqufZPJb9EPVDemBYrs+y+5rDntIlIzTblO9g';
    expect(await hasher.verify(from020, 'a password from 0.2.0')).toBe(true);
    expect(await hasher.verify(from020, 'another password')).toBe(false);
  });
});
