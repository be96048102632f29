import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, request, type RawResponse, signUp } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';

// A3 and L9 (issue 18 §5, item 1): auth.reauthenticate checks a password, so a stolen cookie must not buy unlimited
// guesses at it, and a right guess past the limit must not make the session fresh (the key to changePassword and
// the admin actions).
const password = 'correct horse battery';
const wrong = 'not the password!';
const FRESH_WINDOW_MS = 10 * 60_000;

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' } });
});
afterAll(() => srv.close());

const reauthenticate = (cookie: string, pass: string) => request(`${srv.url}/trpc/auth.reauthenticate`, { cookie, body: { password: pass } });
const authenticatedAt = async (cookie: string) =>
  ((await request(`${srv.url}/trpc/auth.me`, { cookie })).json as { result: { data: { session: { authenticatedAt: string } } } }).result.data.session.authenticatedAt;

function expectThrottled(res: RawResponse, seconds: number) {
  expect(res.status).toBe(429);
  expect(errorCode(res)).toBe('TOO_MANY_REQUESTS');
  expect(res.headers.get('retry-after')).toBe(String(seconds));
  expect((res.json as { error: { data: { retryAfterSeconds?: number } } }).error.data.retryAfterSeconds).toBe(seconds);
  expect(res.setCookies).toEqual([]);
}

function expectStale(res: RawResponse) {
  expect(res.status).toBe(412);
  expect(errorCode(res)).toBe('PRECONDITION_FAILED');
  expect((res.json as { error: { data: { reason?: string } } }).error.data.reason).toBe('FRESH_LOGIN_REQUIRED');
}

describe('auth.reauthenticate with LOGIN_MAX_FAILURES_PER_ACCOUNT=3', () => {
  it('wrong passwords answer 403 until the limit, then 429 with Retry-After; the right password is 429 too, and the session stays stale with its cookie unchanged', async () => {
    const cookie = await signUp(srv.url, 'reauth-guessed');
    const signedInAt = await authenticatedAt(cookie);
    srv.clock.advance(FRESH_WINDOW_MS + 1_000);
    expectStale(await request(`${srv.url}/trpc/sessions.revokeOthers`, { cookie, body: {} }));

    for (let i = 0; i < 3; i += 1) {
      const res = await reauthenticate(cookie, wrong);
      expect(res.status).toBe(403);
      expect(errorCode(res)).toBe('FORBIDDEN');
      expect(res.setCookies).toEqual([]);
    }
    expectThrottled(await reauthenticate(cookie, wrong), 60);
    expectThrottled(await reauthenticate(cookie, wrong), 60);
    // The thief's lucky guess after the limit: refused like the others, and no fresh login comes of it.
    expectThrottled(await reauthenticate(cookie, password), 60);

    expect(await authenticatedAt(cookie)).toBe(signedInAt);
    expectStale(await request(`${srv.url}/trpc/sessions.revokeOthers`, { cookie, body: {} }));
    expectStale(await request(`${srv.url}/trpc/auth.changePassword`, { cookie, body: { currentPassword: password, newPassword: 'a brand new password' } }));
  });

  it('the block ends by itself: once the clock passes it, the right password re-authenticates (200, a new cookie, a fresh session)', async () => {
    const cookie = await signUp(srv.url, 'reauth-owner');
    srv.clock.advance(FRESH_WINDOW_MS + 1_000);
    for (let i = 0; i < 3; i += 1) expect((await reauthenticate(cookie, wrong)).status).toBe(403);
    expectThrottled(await reauthenticate(cookie, password), 60);
    srv.clock.advance(60_000);
    const res = await reauthenticate(cookie, password);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ result: { data: { authenticatedAt: new Date(srv.clock.now()).toISOString() } } });
    expect(res.setCookies).toHaveLength(1);
  });
});
