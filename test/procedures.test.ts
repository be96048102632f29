import { TRPCError } from '@trpc/server';
import { afterEach, describe, expect, it } from 'vitest';
import type { BuiltInAccounts, User } from '../server/index.js';
import { type AppRouter, referenceRouter } from '../server/reference/router.js';
import { createTestCaller, type TestCaller, type TestCallerOptions } from '../server/testing.js';

const alice = { id: 'user-alice', username: 'alice', role: 'user' as const };
const admin = { id: 'user-admin', username: 'root', role: 'admin' as const };

type Caller = TestCaller<AppRouter, User, Record<never, never>, Record<never, never>, Record<never, never>>;
let open: Caller[] = [];
async function callerFor(options: Omit<TestCallerOptions<AppRouter>, 'router'> = {}) {
  const created = await createTestCaller({ router: referenceRouter, ...options });
  open.push(created);
  return created;
}
const directoryOf = (services: Caller['services']) => (services.accounts as BuiltInAccounts).directory;
afterEach(async () => {
  await Promise.all(open.map((c) => c.close()));
  open = [];
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    if (error instanceof TRPCError) return error.code;
    throw error;
  }
}

describe('procedures through createCaller (no HTTP)', () => {
  it('data needs a user: UNAUTHORIZED when anonymous, the message and user when signed in', async () => {
    expect(await codeOf((await callerFor()).caller.data())).toBe('UNAUTHORIZED');
    const { caller } = await callerFor({ user: alice });
    expect(await caller.data()).toEqual({ message: 'Hello, alice. This answer needed a live session.', user: alice });
  });

  it('me is null when anonymous and shows the current session when signed in', async () => {
    expect(await (await callerFor()).caller.auth.me()).toBeNull();
    const { caller } = await callerFor({ user: alice });
    const me = await caller.auth.me();
    expect(me?.user).toEqual(alice);
    expect(me?.session.current).toBe(true);
  });

  it('register stores the account lower-cased and starts a session; login checks the password', async () => {
    const { caller, ctx, services } = await callerFor();
    const { user } = await caller.auth.register({ username: 'Bob', password: 'bob password 1' });
    expect(user.username).toBe('bob');
    expect(ctx.session.current?.user.id).toBe(user.id);
    expect((await directoryOf(services).findByUsername('BOB'))?.id).toBe(user.id);
    expect(await codeOf(caller.auth.register({ username: 'bob', password: 'another password' }))).toBe('CONFLICT');
    await caller.auth.logout();
    expect(await codeOf(caller.auth.login({ username: 'bob', password: 'wrong password' }))).toBe('UNAUTHORIZED');
    expect(await codeOf(caller.auth.login({ username: 'nobody', password: 'wrong password' }))).toBe('UNAUTHORIZED');
    expect((await caller.auth.login({ username: 'bob', password: 'bob password 1' })).user.id).toBe(user.id);
  });

  it('input validation rejects bad credentials with BAD_REQUEST before any work', async () => {
    const { caller } = await callerFor();
    expect(await codeOf(caller.auth.register({ username: 'x', password: 'long enough' }))).toBe('BAD_REQUEST');
    expect(await codeOf(caller.auth.login({ username: 'valid-name', password: 'short' }))).toBe('BAD_REQUEST');
  });

  it('logout ends the session and is idempotent', async () => {
    const { caller, ctx } = await callerFor({ user: alice });
    expect(await caller.auth.logout()).toEqual({ loggedOut: true });
    expect(ctx.session.current).toBeNull();
    expect(await caller.auth.logout()).toEqual({ loggedOut: false });
  });

  it('admin procedures are FORBIDDEN to a plain user and UNAUTHORIZED to nobody', async () => {
    expect(await codeOf((await callerFor({ user: alice })).caller.admin.revokeUserSessions({ username: 'alice' }))).toBe('FORBIDDEN');
    expect(await codeOf((await callerFor()).caller.admin.revokeUserSessions({ username: 'alice' }))).toBe('UNAUTHORIZED');
    const { caller } = await callerFor({ user: admin });
    expect(await codeOf(caller.admin.revokeUserSessions({ username: 'no-such-user' }))).toBe('NOT_FOUND');
  });

  it('a user the user schema refuses (a role it does not know) is refused here exactly as in production', async () => {
    const staff = { id: 'user-staff', username: 'staff-member', role: 'staff' } as unknown as User;
    await expect(callerFor({ user: staff })).rejects.toThrow('session.start() got a user that does not match the user schema: role:');
  });
});

describe('a login racing a password change', () => {
  it('gives up the session it just started when the password changed after it was checked', async () => {
    const { createPasswordHasher } = await import('../server/accounts/passwordHasher.js');
    const real = await createPasswordHasher();
    let during: (() => Promise<void>) | undefined;
    const hasher = {
      ...real,
      async verify(hash: string, password: string) {
        const ok = await real.verify(hash, password);
        const hook = during;
        during = undefined;
        await hook?.(); // the password changes right after this login's check passed
        return ok;
      },
    };
    const { caller, ctx, services } = await callerFor({ hasher });
    const { user } = await caller.auth.register({ username: 'racer', password: 'old password 1' });
    await caller.auth.logout();
    during = async () => {
      const passwordHash = await real.hash('new password 2');
      await directoryOf(services).updateLatest(user.id, () => ({ passwordHash }));
      await services.sessions.removeAllForUser(user.id, undefined, 'password-change');
    };
    expect(await codeOf(caller.auth.login({ username: 'racer', password: 'old password 1' }))).toBe('UNAUTHORIZED');
    expect(ctx.session.current).toBeNull();
    expect(await services.sessions.listForUser(user.id)).toEqual([]);
  });
});

describe('ending all of a user’s sessions', () => {
  it('counts only the sessions it really ended, not index entries whose session was already gone', async () => {
    const { openStore } = await import('../server/store/openStore.js');
    const { newSessionId, storeKeyOf } = await import('../server/session/sessionId.js');
    const store = await openStore({ url: 'memory://', timeoutMs: 1000 });
    const { caller, services } = await callerFor({ user: admin, store });
    const bob = await directoryOf(services).create('bob', 'not-a-real-hash');
    const now = Date.now();
    const record = { v: 2 as const, user: { id: bob!.id, username: 'bob', role: 'user' }, data: {}, createdAt: now, lastSeen: now, authAt: now, ua: null, gen: 0, carrier: 'cookie' as const };
    const [live, gone] = [newSessionId(), newSessionId()];
    await services.sessions.create(live, record);
    await services.sessions.create(gone, record);
    await store.delete(storeKeyOf(gone)); // expired in the store; its index entry lingers
    expect(await caller.admin.revokeUserSessions({ username: 'bob' })).toEqual({ endedSessions: 1 });
    expect(await services.sessions.load(live)).toBeUndefined();
    expect(await services.sessions.listForUser(bob!.id)).toEqual([]);
  });
});
