import { TRPCError } from '@trpc/server';
import { afterEach, describe, expect, it } from 'vitest';
import type { Duration } from '../server/index.js';
import { referenceRouter } from '../server/reference/router.js';
import { createTestCaller } from '../server/testing.js';
import { ManualClock } from './helpers/clock.js';

/**
 * README, Testing: "Move its `clock` to test timeouts and fresh logins
 * without sleeping." Each call of the testing helper runs as a request does
 * behind the middleware — the session read with its idle and absolute
 * timeouts, extended when due — through the same core, so a team's
 * "expires after 30 minutes" test means what it says (issue 19, point 1).
 */
const alice = { id: 'user-alice', username: 'alice', role: 'user' as const };
const MINUTE = 60_000;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function signedIn(options: { idleTimeout?: Duration; absoluteTimeout?: Duration } = {}) {
  const clock = new ManualClock();
  const created = await createTestCaller({ router: referenceRouter, user: alice, clock, options });
  closers.push(created.close);
  return { ...created, clock };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    if (error instanceof TRPCError) return error.code;
    throw error;
  }
}

describe('the testing helper keeps time as a request does', () => {
  it('idle: a call 29 minutes after the last one works; 30 minutes without a call ends the session (UNAUTHORIZED), and it stays ended', async () => {
    const { caller, clock, session } = await signedIn();
    clock.advance(29 * MINUTE);
    expect(await codeOf(caller.data())).toBe('OK');
    clock.advance(30 * MINUTE);
    expect(await codeOf(caller.data())).toBe('UNAUTHORIZED');
    expect(session.current).toBeNull();
    clock.advance(-60 * MINUTE);
    expect(await codeOf(caller.data())).toBe('UNAUTHORIZED');
  });

  it('the idle extension rule: a session used every 29 minutes lives on, because each call extends its idle window', async () => {
    const { caller, clock } = await signedIn();
    for (let call = 0; call < 10; call += 1) {
      clock.advance(29 * MINUTE);
      expect(await codeOf(caller.data())).toBe('OK');
    }
    expect((await caller.auth.me())?.session.lastSeenAt).toBe(new Date(clock.now()).toISOString());
  });

  it('absolute: a session used every 20 minutes still ends 12 hours after its login', async () => {
    const { caller, clock } = await signedIn();
    const start = clock.now();
    while (clock.now() + 20 * MINUTE < start + 12 * 60 * MINUTE) {
      clock.advance(20 * MINUTE);
      expect(await codeOf(caller.data())).toBe('OK');
    }
    clock.advance(start + 12 * 60 * MINUTE - clock.now());
    expect(await codeOf(caller.data())).toBe('UNAUTHORIZED');
  });

  it('the configured timeouts are the ones kept: idleTimeout 5m, absoluteTimeout 1h', async () => {
    const { caller, clock } = await signedIn({ idleTimeout: '5m', absoluteTimeout: '1h' });
    clock.advance(4 * MINUTE);
    expect(await codeOf(caller.data())).toBe('OK');
    clock.advance(5 * MINUTE);
    expect(await codeOf(caller.data())).toBe('UNAUTHORIZED');
  });

  it('the session handle between calls acts on the session as a request would: an update after the idle timeout is UNAUTHORIZED', async () => {
    const { clock, session } = await signedIn();
    clock.advance(31 * MINUTE);
    expect(await codeOf(session.update({}))).toBe('UNAUTHORIZED');
  });
});
