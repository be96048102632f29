import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorMessages } from '../shared/errors.js';
import { request, type RawResponse, sessionCookie, signUp } from './helpers/http.js';
import { PrivateRedis } from './helpers/privateRedis.js';
import { untilReplicaLinked } from './helpers/replication.js';
import { startServer, type TestServer } from './helpers/server.js';

/**
 * A durable write that the master made but its replica did not confirm in
 * time (`waitReplicas`, the replica stopped with SIGSTOP) must not stop the
 * flow it is part of: the write happened, so every later step must happen
 * too, and only then does the request answer 503 "not confirmed".
 */
describe('flows that meet an unconfirmed durable write run to their end (a private Redis master with one stopped replica)', () => {
  const PASSWORD = 'correct horse battery';
  const NEW_PASSWORD = 'a brand new password';
  let master: PrivateRedis;
  let replica: PrivateRedis;
  let server: TestServer;
  let users = 0;

  beforeAll(async () => {
    master = await PrivateRedis.start();
    replica = await PrivateRedis.start({ args: () => ['--replicaof', '127.0.0.1', String(master.port)] });
    await untilReplicaLinked(replica);
    server = await startServer({ env: { SESSION_STORE_URL: `${master.url}?waitReplicas=all&waitTimeout=300ms`, SESSION_STORE_NAMESPACE: `unconfirmed-${Date.now()}` } });
  }, 60_000);
  afterAll(async () => {
    replica?.thaw();
    await server?.close();
    await replica?.destroy();
    await master?.destroy();
  });

  const post = (path: string, cookie: string | undefined, body: unknown = {}) => request(`${server.url}/trpc/${path}`, { ...(cookie ? { cookie } : {}), body });
  const read = (cookie: string) => request(`${server.url}/trpc/data`, { cookie });
  const login = async (username: string, password = PASSWORD) => sessionCookie(await post('auth.login', undefined, { username, password }));
  const run = Date.now().toString(36);
  const freshName = (what: string) => `${what}-${run}-${(users += 1)}`;

  /** Runs `call` with the replica stopped, so that every durable write it makes is not confirmed. */
  async function whileReplicaStopped(call: () => Promise<RawResponse>): Promise<RawResponse> {
    replica.freeze();
    try {
      return await call();
    } finally {
      replica.thaw();
      await untilReplicaLinked(replica);
    }
  }

  function expectNotConfirmed(res: RawResponse): void {
    expect(res.status).toBe(503);
    expect((res.json as { error: { message: string; data: { code: string } } }).error).toMatchObject({ message: errorMessages.storeUnconfirmed, data: { code: 'SERVICE_UNAVAILABLE' } });
  }

  it('an admin deletes a user with two live sessions: 503 "not confirmed", yet both sessions have ended and the name can be registered again', async () => {
    const adminName = freshName('uc-admin');
    await signUp(server.url, adminName);
    const adminAccount = await server.users.findByUsername(adminName);
    await server.gatehouse.services.accounts.setRole!(adminAccount!.id, 'admin');
    const admin = await login(adminName);
    const username = freshName('uc-deleted');
    const a = await signUp(server.url, username);
    const b = await login(username);
    expect((await read(a)).status).toBe(200);
    expect((await read(b)).status).toBe(200);

    expectNotConfirmed(await whileReplicaStopped(() => post('admin.deleteUser', admin, { username })));

    expect((await read(a)).status).toBe(401);
    expect((await read(b)).status).toBe(401);
    expect(await server.users.findByUsername(username)).toBeUndefined();
    const again = await post('auth.register', undefined, { username, password: NEW_PASSWORD });
    expect(again.status).toBe(200);
  });

  it('a password change from session A with session B live: 503 "not confirmed", yet B has ended, A stays, and only the new password logs in', async () => {
    const username = freshName('uc-changer');
    await signUp(server.url, username);
    const a = await login(username);
    const b = await login(username);
    expect((await read(b)).status).toBe(200);

    const res = await whileReplicaStopped(() => post('auth.changePassword', a, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }));
    expectNotConfirmed(res);

    // A was rotated before the write (a fresh id for the new password) and kept: the 503 still hands over its new id, which carries the new generation.
    expect((await read(sessionCookie(res))).status).toBe(200);
    expect((await read(a)).status).toBe(401);
    expect((await read(b)).status).toBe(401);
    expect((await post('auth.login', undefined, { username, password: PASSWORD })).status).toBe(401);
    expect((await post('auth.login', undefined, { username, password: NEW_PASSWORD })).status).toBe(200);
  });

  it('a logout with an id rotated away (a tombstone) ends the session it was rotated into, though the take of the tombstone is not confirmed', async () => {
    const username = freshName('uc-rotated');
    const old = await signUp(server.url, username);
    const rotated = await post('auth.reauthenticate', old, { password: PASSWORD });
    expect(rotated.status).toBe(200);
    const successor = sessionCookie(rotated);
    expect(successor).not.toBe(old);
    expect((await read(successor)).status).toBe(200);

    expectNotConfirmed(await whileReplicaStopped(() => post('auth.logout', old)));

    expect((await read(successor)).status).toBe(401);
  });
});
