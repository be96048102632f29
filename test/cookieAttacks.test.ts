import Keygrip from 'keygrip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSessionId } from '../server/session/sessionId.js';
import { errorCode, parseSetCookie, request, sessionCookie, signUp } from './helpers/http.js';
import { OTHER_KEY, TEST_KEY, startServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(() => srv.close());

const signWith = (key: string, id: string) => `sid=${id}.${new Keygrip([key], 'sha256').sign(id)}`;
const valueOf = (cookie: string) => cookie.slice('sid='.length);
const idOf = (cookie: string) => valueOf(cookie).split('.')[0]!;
const sigOf = (cookie: string) => valueOf(cookie).split('.')[1]!;
const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);

async function dataStatus(cookie: string): Promise<number> {
  return (await request(`${srv.url}/trpc/data`, { cookie })).status;
}

describe('when the cookie is tampered with', () => {
  it('a flipped character in the id, signature kept → 401', async () => {
    const cookie = await signUp(srv.url, 'tamper-id');
    expect(await dataStatus(cookie)).toBe(200);
    expect(await dataStatus(`sid=${flip(idOf(cookie), 5)}.${sigOf(cookie)}`)).toBe(401);
  });

  it('an altered signature → 401', async () => {
    const cookie = await signUp(srv.url, 'tamper-sig');
    expect(await dataStatus(`sid=${idOf(cookie)}.${flip(sigOf(cookie), 3)}`)).toBe(401);
  });

  it('a dropped signature (bare id, or id with an empty signature) → 401', async () => {
    const cookie = await signUp(srv.url, 'drop-sig');
    expect(await dataStatus(`sid=${idOf(cookie)}`)).toBe(401);
    expect(await dataStatus(`sid=${idOf(cookie)}.`)).toBe(401);
  });

  // Issue 18 §5, item 3: a verifier that compared only a prefix answered `sid=<id>.<first character>` with 200.
  it('a signature truncated to 1, 10 or all but one of its characters → 401, and no session', async () => {
    const cookie = await signUp(srv.url, 'truncated-sig');
    const signature = sigOf(cookie);
    expect(signature).toHaveLength(43);
    for (const length of [1, 10, signature.length - 1]) {
      const truncated = `sid=${idOf(cookie)}.${signature.slice(0, length)}`;
      expect(await dataStatus(truncated)).toBe(401);
      const me = await request(`${srv.url}/trpc/auth.me`, { cookie: truncated });
      expect(me.json).toEqual({ result: { data: null } });
      expect(me.setCookies).toEqual([]);
    }
    expect(await dataStatus(cookie)).toBe(200);
  });

  it('a signature extended by one character or doubled → 401, and no session', async () => {
    const cookie = await signUp(srv.url, 'extended-sig');
    const signature = sigOf(cookie);
    for (const extended of [`${signature}A`, `${signature}${signature}`]) {
      const forged = `sid=${idOf(cookie)}.${extended}`;
      expect(await dataStatus(forged)).toBe(401);
      const me = await request(`${srv.url}/trpc/auth.me`, { cookie: forged });
      expect(me.json).toEqual({ result: { data: null } });
      expect(me.setCookies).toEqual([]);
    }
    expect(await dataStatus(cookie)).toBe(200);
  });

  it('the right id signed with a foreign key → 401', async () => {
    const cookie = await signUp(srv.url, 'foreign-key');
    expect(await dataStatus(signWith(OTHER_KEY, idOf(cookie)))).toBe(401);
  });

  it('an oversized cookie value → anonymous, no 5xx', async () => {
    const res = await request(`${srv.url}/trpc/auth.me`, { cookie: `sid=${'A'.repeat(3000)}` });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ result: { data: null } });
  });
});

describe('when the id was never issued by the server', () => {
  it('a well-formed, correctly signed but unknown id is not adopted: anonymous, and no cookie echoes it back', async () => {
    const planted = signWith(TEST_KEY, newSessionId());
    const me = await request(`${srv.url}/trpc/auth.me`, { cookie: planted });
    expect(me.json).toEqual({ result: { data: null } });
    expect(me.setCookies).toEqual([]);
    expect(await dataStatus(planted)).toBe(401);
  });

  it('fixation: a planted cookie is replaced at login, and the planted id stays dead', async () => {
    await signUp(srv.url, 'fixation');
    const plantedId = newSessionId();
    const planted = signWith(TEST_KEY, plantedId);
    const login = await request(`${srv.url}/trpc/auth.login`, {
      cookie: planted,
      body: { username: 'fixation', password: 'correct horse battery' },
    });
    expect(login.status).toBe(200);
    const issued = sessionCookie(login);
    expect(idOf(issued)).not.toBe(plantedId);
    expect(await dataStatus(issued)).toBe(200);
    expect(await dataStatus(planted)).toBe(401);
  });
});

describe('when a session already exists', () => {
  it('login issues a new id and the pre-login cookie is dead', async () => {
    const first = await signUp(srv.url, 'rotate-on-login');
    const login = await request(`${srv.url}/trpc/auth.login`, {
      cookie: first,
      body: { username: 'rotate-on-login', password: 'correct horse battery' },
    });
    const second = sessionCookie(login);
    expect(idOf(second)).not.toBe(idOf(first));
    expect(await dataStatus(second)).toBe(200);
    expect(await dataStatus(first)).toBe(401);
  });

  it('logging in as another user carries nothing over from the previous session', async () => {
    const alice = await signUp(srv.url, 'carry-alice');
    await signUp(srv.url, 'carry-bob');
    const login = await request(`${srv.url}/trpc/auth.login`, {
      cookie: alice,
      body: { username: 'carry-bob', password: 'correct horse battery' },
    });
    const bob = sessionCookie(login);
    const me = (await request(`${srv.url}/trpc/auth.me`, { cookie: bob })).json as { result: { data: { user: { username: string } } } };
    expect(me.result.data.user.username).toBe('carry-bob');
    expect(await dataStatus(alice)).toBe(401);
  });

  it('a replayed cookie after logout → 401', async () => {
    const cookie = await signUp(srv.url, 'replay');
    const logout = await request(`${srv.url}/trpc/auth.logout`, { method: 'POST', cookie, body: '' });
    expect(logout.status).toBe(200);
    expect(await dataStatus(cookie)).toBe(401);
    const me = await request(`${srv.url}/trpc/auth.me`, { cookie });
    expect(me.json).toEqual({ result: { data: null } });
  });

  it('the session id in the query string instead of the cookie is ignored → 401', async () => {
    const cookie = await signUp(srv.url, 'query-string');
    const res = await request(`${srv.url}/trpc/data?sid=${encodeURIComponent(valueOf(cookie))}`);
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe('UNAUTHORIZED');
  });

  it('two session cookies in one header → no session at all, whichever is valid', async () => {
    const cookie = await signUp(srv.url, 'duplicate');
    const other = signWith(TEST_KEY, newSessionId());
    expect(await dataStatus(`${cookie}; ${other}`)).toBe(401);
    expect(await dataStatus(`${other}; ${cookie}`)).toBe(401);
    expect(await dataStatus(`${cookie}; ${cookie}`)).toBe(401);
    // The legitimate session is untouched by the attempt.
    expect(await dataStatus(cookie)).toBe(200);
  });

  it('other cookies beside the session cookie do not disturb it', async () => {
    const cookie = await signUp(srv.url, 'neighbours');
    expect(await dataStatus(`theme=dark; xsid=zzz; ${cookie}; lang=en`)).toBe(200);
  });
});

describe('when keys rotate (SESSION_KEYS=new,old)', () => {
  it('a cookie signed with the second key is accepted and re-signed with the first', async () => {
    const old = await startServer({ env: { SESSION_KEYS: OTHER_KEY } });
    const rotated = await startServer({ env: { SESSION_KEYS: `${TEST_KEY},${OTHER_KEY}` }, deps: { store: old.gatehouse.store } });
    try {
      const cookie = await signUp(old.url, 'rotated-key');
      const res = await request(`${rotated.url}/trpc/data`, { cookie });
      expect(res.status).toBe(200);
      expect(res.setCookies).toHaveLength(1);
      const resigned = parseSetCookie(res.setCookies[0]!);
      expect(resigned.value.split('.')[0]).toBe(idOf(cookie));
      expect(resigned.value).toBe(valueOf(signWith(TEST_KEY, idOf(cookie))));
      expect(await dataStatus(`sid=${resigned.value}`)).toBe(401); // srv uses a different store
      expect((await request(`${rotated.url}/trpc/data`, { cookie: `sid=${resigned.value}` })).status).toBe(200);
    } finally {
      await rotated.close();
      await old.close();
    }
  });

  // Issue 18 §5 "also": the test above has the record sealed under the old key too, so it could not tell whether the
  // cookie was re-signed for its own key or only because the record was re-sealed.
  it('a cookie signed with the second key, its record sealed under the first, is re-signed with the first on a plain query: sid, HttpOnly, SameSite=Lax, Path=/, no Domain, no Secure, and the session’s own absolute expiry', async () => {
    const both = await startServer({ env: { SESSION_KEYS: `${TEST_KEY},${OTHER_KEY}` } });
    try {
      const id = idOf(await signUp(both.url, 'cookie-key-only'));
      const createdAt = both.clock.now();
      both.clock.advance(20 * 60_000);
      const remaining = createdAt + both.gatehouse.options.absoluteTimeoutMs - both.clock.now();
      const before = Date.now();
      const res = await request(`${both.url}/trpc/data`, { cookie: signWith(OTHER_KEY, id) });
      const after = Date.now();
      expect(res.status).toBe(200);
      expect(res.setCookies).toHaveLength(1);
      const resigned = parseSetCookie(res.setCookies[0]!);
      expect(resigned.name).toBe('sid');
      expect(resigned.value).toBe(valueOf(signWith(TEST_KEY, id)));
      expect([...resigned.attributes.keys()].sort()).toEqual(['expires', 'httponly', 'path', 'samesite']);
      expect(resigned.attributes.get('path')).toBe('/');
      expect(resigned.attributes.get('samesite')).toBe('lax');
      expect(resigned.attributes.get('httponly')).toBe('');
      // The cookie lives as long as the session may (its absolute timeout from login), not a fresh 12 hours.
      const expires = Date.parse(resigned.attributes.get('expires')!);
      expect(expires).toBeGreaterThanOrEqual(Math.floor((before + remaining) / 1000) * 1000);
      expect(expires).toBeLessThanOrEqual(after + remaining);
      expect((await request(`${both.url}/trpc/data`, { cookie: `sid=${resigned.value}` })).status).toBe(200);
    } finally {
      await both.close();
    }
  });
});
