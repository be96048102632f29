import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSetCookie, request, signUp, type RawResponse } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';

// F2 of SECURITY.md, by property: bad input of any shape gets a 4xx, never a 5xx, and never moves a session it should not.
const RUNS = 40;
const QUERIES = ['auth.me', 'data', 'sessions.list'];
const MUTATIONS = ['auth.register', 'auth.login', 'auth.logout', 'auth.changePassword', 'sessions.revoke', 'sessions.revokeOthers', 'admin.revokeUserSessions'];

let srv: TestServer;
let victim: string;
let victimSessions: number;
beforeAll(async () => {
  srv = await startServer({
    env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '100000' },
  });
  victim = await signUp(srv.url, 'property-victim');
  victimSessions = await sessionCount(victim);
});
afterAll(() => srv.close());

async function sessionCount(cookie: string): Promise<number> {
  const res = await request(`${srv.url}/trpc/sessions.list`, { cookie });
  expect(res.status).toBe(200);
  return (res.json as { result: { data: unknown[] } }).result.data.length;
}

/** A session-bearing cookie set by a response (a cleared one, value '', does not count). */
const issuedSession = (res: RawResponse) => res.setCookies.map(parseSetCookie).some((c) => c.name === 'sid' && c.value !== '');

const base64url43 = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), minLength: 43, maxLength: 43 });
/** Header-safe text (printable ASCII): what an attacker can put in a Cookie header. */
const headerText = fc.string({ unit: 'grapheme-ascii', maxLength: 300 });
const cookieName = fc.oneof(fc.constantFrom('sid', 'SID', 'sid ', '__Host-sid', 'sid.sig', 'koa.sess'), fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 }));
const cookieValue = fc.oneof(
  headerText,
  fc.tuple(base64url43, base64url43).map(([id, sig]) => `${id}.${sig}`), // well-formed, never issued
  base64url43, // an unsigned id
  fc.nat(200).map((n) => 'A'.repeat(n * 40)), // oversized
);
/** Anything a Cookie header can carry: free text, or pairs with session-like names and values. */
const cookieHeader = fc.oneof(
  headerText,
  fc.array(fc.tuple(cookieName, cookieValue), { minLength: 1, maxLength: 5 }).map((pairs) => pairs.map(([n, v]) => `${n}=${v}`).join('; ')),
);
/** Cookies that are not the session cookie, to ride next to a real one. */
const otherCookies = fc.array(
  fc.tuple(fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz_-'), minLength: 1, maxLength: 8 }).filter((n) => n !== 'sid'), headerText.map((v) => v.replace(/[;,]/g, ''))),
  { maxLength: 4 },
);

describe('arbitrary Cookie headers', () => {
  it('to every query and to logout: never a 5xx, never a new session, and the victim\'s session is untouched', async () => {
    await fc.assert(
      fc.asyncProperty(cookieHeader, fc.constantFrom(...QUERIES, 'auth.logout'), async (cookie, path) => {
        const res =
          path === 'auth.logout'
            ? await request(`${srv.url}/trpc/${path}`, { cookie, body: {} })
            : await request(`${srv.url}/trpc/${path}`, { cookie });
        expect(res.status).toBeLessThan(500);
        expect(issuedSession(res)).toBe(false);
        // 431: Node refuses headers past its limit before Gatehouse runs; that too is a clean 4xx.
        if (path === 'data' || path === 'sessions.list') expect([401, 431]).toContain(res.status);
      }),
      { numRuns: RUNS * 2 },
    );
    expect((await request(`${srv.url}/trpc/data`, { cookie: victim })).status).toBe(200);
    expect(await sessionCount(victim)).toBe(victimSessions);
  });

  it('other cookies next to a live session cookie never break it', async () => {
    await fc.assert(
      fc.asyncProperty(otherCookies, fc.boolean(), async (others, before) => {
        const pairs = others.map(([n, v]) => `${n}=${v}`);
        const cookie = (before ? [...pairs, victim] : [victim, ...pairs]).join('; ');
        const res = await request(`${srv.url}/trpc/data`, { cookie });
        expect(res.status).toBe(200);
        expect(res.setCookies).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('arbitrary JSON bodies to every mutation', () => {
  it('anonymous garbage is a 4xx (or a success that legitimately starts a session), never a 5xx, and the victim\'s session is untouched', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...MUTATIONS), fc.jsonValue({ maxDepth: 3 }), fc.option(cookieHeader, { nil: undefined }), async (path, body, cookie) => {
        const res = await request(`${srv.url}/trpc/${path}`, { body: JSON.stringify(body), cookie });
        expect(res.status).toBeLessThan(500);
        const startsSession = res.status === 200 && (path === 'auth.register' || path === 'auth.login');
        if (!startsSession) expect(issuedSession(res)).toBe(false);
        if (path !== 'auth.logout' && path !== 'auth.register' && path !== 'auth.login') expect(res.status).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: RUNS * 2 },
    );
    expect((await request(`${srv.url}/trpc/data`, { cookie: victim })).status).toBe(200);
    expect(await sessionCount(victim)).toBe(victimSessions);
  });

  it('arbitrary bytes (not JSON) as a JSON body are a 4xx, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...MUTATIONS), fc.string({ unit: 'binary', maxLength: 200 }), async (path, text) => {
        const res = await request(`${srv.url}/trpc/${path}`, { body: text, headers: { 'content-type': 'application/json' } });
        expect(res.status).toBeLessThan(500);
        if (res.status !== 200) expect(issuedSession(res)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('with the victim\'s own cookie, garbage input to the protected mutations is a 400/404 and the session and its siblings survive', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('auth.changePassword', 'sessions.revoke', 'admin.revokeUserSessions'), fc.jsonValue({ maxDepth: 3 }), async (path, body) => {
        const res = await request(`${srv.url}/trpc/${path}`, { body: JSON.stringify(body), cookie: victim });
        expect([400, 403, 404]).toContain(res.status);
        expect(res.setCookies).toEqual([]);
      }),
      { numRuns: RUNS },
    );
    expect((await request(`${srv.url}/trpc/data`, { cookie: victim })).status).toBe(200);
    expect(await sessionCount(victim)).toBe(victimSessions);
  });
});

describe('arbitrary query inputs', () => {
  it('any ?input= string and any extra query parameters to every query are never a 5xx and start no session', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...QUERIES),
        fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v))),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 20 }), { maxKeys: 3 }),
        fc.boolean(),
        async (path, input, extra, withVictim) => {
          const query = new URLSearchParams({ ...extra, input });
          const res = await request(`${srv.url}/trpc/${path}?${query}`, withVictim ? { cookie: victim } : {});
          expect(res.status).toBeLessThan(500);
          expect(res.setCookies).toEqual([]);
        },
      ),
      { numRuns: RUNS * 2 },
    );
    expect((await request(`${srv.url}/trpc/data`, { cookie: victim })).status).toBe(200);
    expect(await sessionCount(victim)).toBe(victimSessions);
  });
});
