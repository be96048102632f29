import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, signUp, type RawResponse } from './helpers/http.js';
import { startServer, TEST_KEY, type TestServer } from './helpers/server.js';

// Security headers on every response (helmet), HSTS only in production, C4: no-store on every tRPC answer.
const CSP =
  "default-src 'self';script-src 'self';style-src 'self';img-src 'self' data:;connect-src 'self';font-src 'self';" +
  "object-src 'none';base-uri 'none';form-action 'self';frame-ancestors 'none'";

let dev: TestServer;
let prod: TestServer;
beforeAll(async () => {
  dev = await startServer();
  prod = await startServer({ env: { NODE_ENV: 'production', TRUST_PROXY: '1', SESSION_KEYS: TEST_KEY, LOG_LEVEL: 'silent' } });
});
afterAll(async () => {
  await dev.close();
  await prod.close();
});

function expectBaseHeaders(res: RawResponse) {
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(res.headers.get('x-frame-options')).toBe('DENY');
  expect(res.headers.get('content-security-policy')).toBe(CSP);
  expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
  expect(res.headers.get('x-powered-by')).toBeNull();
  expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
}

const responsesOf = async (srv: TestServer, extra: Record<string, string> = {}) => {
  const cookie = await signUp(srv.url, `headers-${srv === dev ? 'dev' : 'prod'}`).catch(() => undefined);
  return {
    'a query (auth.me)': await request(`${srv.url}/trpc/auth.me`, { headers: extra }),
    'a protected query with a session (data)': await request(`${srv.url}/trpc/data`, { headers: extra, cookie }),
    'a 401': await request(`${srv.url}/trpc/data`, { headers: extra }),
    'a 400': await request(`${srv.url}/trpc/auth.login`, { body: {}, headers: extra }),
    'a 403 from the origin check': await request(`${srv.url}/trpc/auth.logout`, { body: {}, headers: { ...extra, origin: 'https://evil.example' } }),
    'a 415 from the content-type check': await request(`${srv.url}/trpc/auth.logout`, { body: 'x', headers: { ...extra, 'content-type': 'text/plain' } }),
    'a 404 procedure': await request(`${srv.url}/trpc/nope`, { headers: extra }),
    'a 404 outside tRPC': await request(`${srv.url}/nope`, { headers: extra }),
    '/healthz': await request(`${srv.url}/healthz`, { headers: extra }),
    'the demo page': await request(`${srv.url}/`, { headers: extra }),
  };
};

describe('in development', () => {
  it('every kind of response carries nosniff, no-referrer, frame denial (X-Frame-Options DENY and frame-ancestors none) and the strict CSP, and no HSTS', async () => {
    for (const [name, res] of Object.entries(await responsesOf(dev))) {
      expect.soft(res.headers.get('strict-transport-security'), name).toBeNull();
      expectBaseHeaders(res);
    }
  });

  it('every tRPC answer, success or error, is Cache-Control: no-store', async () => {
    const all = await responsesOf(dev);
    for (const name of ['a query (auth.me)', 'a protected query with a session (data)', 'a 401', 'a 400', 'a 403 from the origin check', 'a 415 from the content-type check', 'a 404 procedure'] as const) {
      expect(all[name].headers.get('cache-control'), name).toBe('no-store');
    }
  });

  it('the CSP allows no inline script or style and no foreign source', () => {
    expect(CSP).not.toContain('unsafe-inline');
    expect(CSP).not.toContain('unsafe-eval');
    expect(CSP).not.toContain('*');
  });
});

describe('in production behind a TLS proxy', () => {
  it('every response also carries HSTS for a year with subdomains', async () => {
    for (const [name, res] of Object.entries(await responsesOf(prod, { 'x-forwarded-proto': 'https' }))) {
      expect(res.headers.get('strict-transport-security'), name).toBe('max-age=31536000; includeSubDomains');
      expectBaseHeaders(res);
    }
  });

  it('the refusal of plain HTTP carries the same headers', async () => {
    const res = await request(`${prod.url}/trpc/auth.me`);
    expect(res.status).toBe(403);
    expectBaseHeaders(res);
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  });
});
