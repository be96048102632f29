import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, request, signUp } from './helpers/http.js';
import { startServer, TEST_KEY, type TestServer } from './helpers/server.js';

// X1/X2 of SECURITY.md, attacks 12 and 13: forged cross-site requests and simple-request bodies.
const LISTED = 'https://app.example.com';
const password = 'correct horse battery';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ env: { ALLOWED_ORIGINS: LISTED } });
});
afterAll(() => srv.close());

let counter = 0;
const freshUser = () => `csrf-user-${counter++}`;

const logout = (cookie: string, headers: Record<string, string>, body = '{}') =>
  request(`${srv.url}/trpc/auth.logout`, { method: 'POST', cookie, body, headers: { 'content-type': 'application/json', ...headers } });

async function expectSessionAlive(cookie: string) {
  const data = await request(`${srv.url}/trpc/data`, { cookie });
  expect(data.status).toBe(200);
}

async function expectRefusedWithNothingChanged(headers: Record<string, string>) {
  const cookie = await signUp(srv.url, freshUser());
  const res = await logout(cookie, headers);
  expect(res.status).toBe(403);
  expect(errorCode(res)).toBe('FORBIDDEN');
  expect(res.setCookies).toEqual([]);
  expect(res.headers.get('clear-site-data')).toBeNull();
  await expectSessionAlive(cookie);
}

async function expectAllowed(headers: Record<string, string>) {
  const cookie = await signUp(srv.url, freshUser());
  const res = await logout(cookie, headers);
  expect(res.status).toBe(200);
  expect(res.json).toEqual({ result: { data: { loggedOut: true } } });
  expect((await request(`${srv.url}/trpc/data`, { cookie })).status).toBe(401);
}

describe('the origin check with Sec-Fetch-Site', () => {
  it('same-origin passes', () => expectAllowed({ 'sec-fetch-site': 'same-origin', origin: srv.url }));
  it('none (the user typed it) passes', () => expectAllowed({ 'sec-fetch-site': 'none' }));
  it('same-site from an unlisted origin is 403 and the session survives', () =>
    expectRefusedWithNothingChanged({ 'sec-fetch-site': 'same-site', origin: 'http://other.127.0.0.1.nip.io' }));
  it('same-site from a listed origin passes', () => expectAllowed({ 'sec-fetch-site': 'same-site', origin: LISTED }));
  it('cross-site from an unlisted origin is 403 and the session survives', () =>
    expectRefusedWithNothingChanged({ 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }));
  it('cross-site without any Origin is 403 and the session survives', () => expectRefusedWithNothingChanged({ 'sec-fetch-site': 'cross-site' }));
  it('cross-site even with the server\'s own Origin is 403: Sec-Fetch-Site wins over Origin', () =>
    expectRefusedWithNothingChanged({ 'sec-fetch-site': 'cross-site', origin: srv.url }));
  it('cross-site from a listed origin passes (CORS with credentials for ALLOWED_ORIGINS)', () =>
    expectAllowed({ 'sec-fetch-site': 'cross-site', origin: LISTED }));
});

describe('the origin check with Origin alone', () => {
  it('the server\'s own origin passes', () => expectAllowed({ origin: srv.url }));
  it('a listed origin passes', () => expectAllowed({ origin: LISTED }));
  it('https://evil.example is 403 and the session survives', () => expectRefusedWithNothingChanged({ origin: 'https://evil.example' }));
  it('a scheme downgrade of a listed origin (http://app.example.com) is 403', () =>
    expectRefusedWithNothingChanged({ origin: 'http://app.example.com' }));
  it('a scheme upgrade of the server\'s own origin (https:// for an http:// server) is 403', () =>
    expectRefusedWithNothingChanged({ origin: srv.url.replace('http://', 'https://') }));
  it('a lookalike host (app.example.com.evil.example) is 403', () =>
    expectRefusedWithNothingChanged({ origin: 'https://app.example.com.evil.example' }));
  it('a lookalike prefix (evilapp.example.com) is 403', () => expectRefusedWithNothingChanged({ origin: 'https://evilapp.example.com' }));
  it('the listed host on another port is 403', () => expectRefusedWithNothingChanged({ origin: 'https://app.example.com:8443' }));
  it('the server\'s own host on another port is 403', () => expectRefusedWithNothingChanged({ origin: 'http://127.0.0.1:1' }));
  it('Origin: null (sandboxed frame, data: URL) is 403', () => expectRefusedWithNothingChanged({ origin: 'null' }));
  it('neither header (curl, the Node client) passes', () => expectAllowed({}));
});

describe('login and register are guarded too', () => {
  it('a cross-site register is 403, sets no cookie and creates no account', async () => {
    const username = freshUser();
    const res = await request(`${srv.url}/trpc/auth.register`, {
      body: { username, password },
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(res.status).toBe(403);
    expect(res.setCookies).toEqual([]);
    // The name is still free: nothing was created.
    expect((await request(`${srv.url}/trpc/auth.register`, { body: { username, password } })).status).toBe(200);
  });

  it('a cross-site login (login CSRF) is 403 and sets no cookie, though the password is right', async () => {
    const username = freshUser();
    await signUp(srv.url, username);
    const res = await request(`${srv.url}/trpc/auth.login`, { body: { username, password }, headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    expect(res.setCookies).toEqual([]);
  });

  it('a batched cross-site call is refused as a whole', async () => {
    const res = await request(`${srv.url}/trpc/auth.logout,auth.logout?batch=1`, {
      body: { 0: {}, 1: {} },
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    expect(res.status).toBe(403);
  });

  it('queries are not guarded (they change nothing): a cross-site GET of auth.me answers 200 null', async () => {
    const res = await request(`${srv.url}/trpc/auth.me`, { headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' } });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ result: { data: null } });
  });

  it('tRPC method override is off: a GET cannot run a mutation', async () => {
    const cookie = await signUp(srv.url, freshUser());
    const res = await request(`${srv.url}/trpc/auth.logout`, { cookie });
    expect(res.status).toBe(405);
    await expectSessionAlive(cookie);
  });
});

describe('the content-type check (simple-request bodies a form can send without a preflight)', () => {
  for (const type of ['multipart/form-data; boundary=x', 'text/plain', 'application/x-www-form-urlencoded']) {
    it(`a same-origin POST to logout as ${type.split(';')[0]} is 415 and the session survives`, async () => {
      const cookie = await signUp(srv.url, freshUser());
      const body = type.startsWith('multipart') ? '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--\r\n' : 'a=b';
      const res = await logout(cookie, { 'content-type': type, 'sec-fetch-site': 'same-origin' }, body);
      expect(res.status).toBe(415);
      expect(errorCode(res)).toBe('UNSUPPORTED_MEDIA_TYPE');
      // Gatehouse's own guard answered, before tRPC (which would answer 415 for multipart too, in its own words).
      const error = (res.json as { error: { message: string; data: { requestId: string } } }).error;
      expect(error.message).toBe('Send requests with Content-Type: application/json.');
      expect(error.data.requestId).toBe(res.headers.get('x-request-id'));
      expect(res.setCookies).toEqual([]);
      await expectSessionAlive(cookie);
    });
  }

  it('a text/plain login with the right password (a form-posted login CSRF) is 415 and sets no cookie', async () => {
    const username = freshUser();
    await signUp(srv.url, username);
    const res = await request(`${srv.url}/trpc/auth.login`, {
      body: JSON.stringify({ username, password }),
      headers: { 'content-type': 'text/plain', 'sec-fetch-site': 'same-origin' },
    });
    expect(res.status).toBe(415);
    expect(res.setCookies).toEqual([]);
  });

  it('a POST with no Content-Type at all is 415', async () => {
    const cookie = await signUp(srv.url, freshUser());
    const res = await fetch(`${srv.url}/trpc/auth.logout`, { method: 'POST', headers: { cookie } });
    expect(res.status).toBe(415);
    await expectSessionAlive(cookie);
  });

  it('a lookalike type (application/jsonp) is 415', async () => {
    const cookie = await signUp(srv.url, freshUser());
    expect((await logout(cookie, { 'content-type': 'application/jsonp' })).status).toBe(415);
    await expectSessionAlive(cookie);
  });

  it('application/json with a charset passes', () => expectAllowed({ 'content-type': 'application/json; charset=utf-8' }));

  it('a cross-site text/plain POST is refused by the origin check first (403)', async () => {
    const cookie = await signUp(srv.url, freshUser());
    const res = await logout(cookie, { 'content-type': 'text/plain', 'sec-fetch-site': 'cross-site' }, 'x');
    expect(res.status).toBe(403);
    await expectSessionAlive(cookie);
  });
});

describe('CORS', () => {
  it('a preflight from a listed origin is allowed with credentials, for GET and POST and the tRPC headers', async () => {
    const res = await request(`${srv.url}/trpc/auth.logout`, {
      method: 'OPTIONS',
      headers: { origin: LISTED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(LISTED);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('access-control-allow-methods')).toBe('GET,POST');
    // The reference server has bearer sessions on (SESSION_BEARER): a bearer client in a listed origin (a desktop
    // shell's web view) sends its token, asks for one, and carries its device markers and "stay signed in" credential.
    expect(res.headers.get('access-control-allow-headers')).toBe('content-type,trpc-accept,authorization,gatehouse-session,Gatehouse-Device,Gatehouse-Remember');
    expect(res.headers.get('access-control-max-age')).toBe('600');
    expect(res.headers.get('vary')).toContain('Origin');
  });

  it('with SESSION_BEARER=off a preflight allows only the cookie client’s headers', async () => {
    const cookiesOnly = await startServer({ env: { ALLOWED_ORIGINS: LISTED, SESSION_BEARER: 'off' } });
    try {
      const res = await request(`${cookiesOnly.url}/trpc/auth.logout`, {
        method: 'OPTIONS',
        headers: { origin: LISTED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-headers')).toBe('content-type,trpc-accept');
      expect(res.headers.get('access-control-expose-headers')).toBeNull();
    } finally {
      await cookiesOnly.close();
    }
  });

  it('an actual request from a listed origin gets Access-Control-Allow-Origin and -Credentials', async () => {
    const res = await request(`${srv.url}/trpc/auth.me`, { headers: { origin: LISTED } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(LISTED);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
  });

  for (const origin of ['https://evil.example', 'http://app.example.com', 'https://app.example.com.evil.example', 'null']) {
    it(`${origin} gets no CORS headers on a preflight or a request, so a browser hides the answer`, async () => {
      const preflight = await request(`${srv.url}/trpc/auth.logout`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(preflight.status).toBeLessThan(500);
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
      expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
      const actual = await request(`${srv.url}/trpc/auth.me`, { headers: { origin } });
      expect(actual.headers.get('access-control-allow-origin')).toBeNull();
      expect(actual.headers.get('access-control-allow-credentials')).toBeNull();
    });
  }
});

describe('behind a TLS proxy in production', () => {
  it('the own origin is https://: an http:// Origin for the same host (a scheme downgrade) is 403, the https:// one passes', async () => {
    const prod = await startServer({ env: { NODE_ENV: 'production', TRUST_PROXY: '1', SESSION_KEYS: TEST_KEY, LOG_LEVEL: 'silent' } });
    try {
      const host = new URL(prod.url).host;
      const tls = { 'x-forwarded-proto': 'https' };
      const reg = await request(`${prod.url}/trpc/auth.register`, { body: { username: freshUser(), password }, headers: { ...tls, origin: `https://${host}` } });
      expect(reg.status).toBe(200);
      const cookie = reg.setCookies[0]!.split(';')[0]!;
      const down = await request(`${prod.url}/trpc/auth.logout`, { method: 'POST', cookie, body: '{}', headers: { ...tls, origin: `http://${host}` } });
      expect(down.status).toBe(403);
      expect((await request(`${prod.url}/trpc/data`, { cookie, headers: tls })).status).toBe(200);
      const same = await request(`${prod.url}/trpc/auth.logout`, { method: 'POST', cookie, body: '{}', headers: { ...tls, origin: `https://${host}` } });
      expect(same.status).toBe(200);
    } finally {
      await prod.close();
    }
  });
});
