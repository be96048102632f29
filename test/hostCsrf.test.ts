import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, createLogger, GatehouseOptionsError } from '../server/index.js';
import { type HostSite, startHostSite } from './helpers/hostSite.js';
import { request, sessionCookie } from './helpers/http.js';
import { captureLogs } from './helpers/logCapture.js';
import { TEST_KEY } from './helpers/server.js';

// Issue 19, point 6: the tRPC mount's CSRF defence for the host's own routes, `gatehouse.csrf()`, over HTTP.
// The host (test/helpers/hostSite.ts) guards POST /api/notes with csrf({ requireJson: true }) and
// POST /api/sign-out with csrf(); both act for the signed-in user through sessionOf(ctx).
const password = 'correct horse battery';
const logs = captureLogs('info');
const PARTNER = 'https://partner.example';

let site: HostSite;
let url: string;
let cookie: string;

beforeAll(async () => {
  site = await startHostSite({ csrf: true, allowedOrigins: [PARTNER], logger: logs.logger });
  url = `http://127.0.0.1:${site.port}`;
  await site.gatehouse.services.accounts.register?.('writer', password);
});
afterAll(() => site.close());

async function signIn(): Promise<string> {
  cookie = sessionCookie(await request(`${url}/trpc/auth.login`, { body: { username: 'writer', password } }));
  return cookie;
}

const notesNow = () => site.notes.map((note) => note.text);
const signedIn = async () => ((await request(`${url}/trpc/auth.me`, { cookie })).json as { result: { data: unknown } }).result.data !== null;

describe('another origin posting to the host’s routes with the user’s cookie', () => {
  beforeAll(signIn);

  it.each([
    ['a cross-site page (Sec-Fetch-Site: cross-site)', { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }],
    ['a sibling subdomain, which SameSite=Lax lets the cookie reach (Sec-Fetch-Site: same-site)', { origin: 'http://other.gatehouse.test', 'sec-fetch-site': 'same-site' }],
    ['a sibling subdomain from a browser without Fetch Metadata (Origin only)', { origin: 'http://other.gatehouse.test' }],
    ['another port of the same host (Origin only)', { origin: 'http://127.0.0.1:1' }],
  ])('%s: a JSON POST /api/notes is 403 with a plain message, and no note is saved', async (_, headers) => {
    const before = notesNow();
    const res = await request(`${url}/api/notes`, { cookie, body: { text: 'forged' }, headers });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.body).toBe('Cross-site request refused. Call this API from its own origin or one listed in ALLOWED_ORIGINS.');
    expect(notesNow()).toEqual(before);
  });

  it('a sibling’s form post to POST /api/sign-out is 403 and the user stays signed in; the refusal is logged as csrf.refused', async () => {
    const refused = () => logs.entries().filter((entry) => entry.event === 'csrf.refused' && entry.path === '/api/sign-out').length;
    const res = await request(`${url}/api/sign-out`, {
      cookie,
      body: 'x=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://other.gatehouse.test', 'sec-fetch-site': 'same-site' },
    });
    expect(res.status).toBe(403);
    expect(await signedIn()).toBe(true);
    expect(refused()).toBe(1);
  });

  it('an origin in allowedOrigins passes, as on the tRPC prefix', async () => {
    const res = await request(`${url}/api/notes`, { cookie, body: { text: 'from the partner' }, headers: { origin: PARTNER, 'sec-fetch-site': 'cross-site' } });
    expect(res.status).toBe(201);
    expect(notesNow()).toContain('from the partner');
  });
});

describe('requireJson: bodies a page can send without a preflight', () => {
  beforeAll(signIn);

  it.each([
    ['application/x-www-form-urlencoded', 'text=forged'],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="text"\r\n\r\nforged\r\n--x--\r\n'],
    ['text/plain', '{"text":"forged"}'],
    ['', '{"text":"forged"}'],
  ])('%s to POST /api/notes, even same-origin, is 415 and no note is saved', async (type, body) => {
    const before = notesNow();
    const res = await request(`${url}/api/notes`, { cookie, body, headers: { 'content-type': type, 'sec-fetch-site': 'same-origin' } });
    expect(res.status).toBe(415);
    expect(res.body).toBe('Send requests with Content-Type: application/json.');
    expect(notesNow()).toEqual(before);
  });

  it('without requireJson (POST /api/sign-out), the page’s own form still works: same-origin urlencoded signs out', async () => {
    const res = await request(`${url}/api/sign-out`, { cookie, body: 'x=1', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url, 'sec-fetch-site': 'same-origin' } });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ signedOut: true });
    expect(await signedIn()).toBe(false);
  });
});

describe('what still works', () => {
  beforeAll(signIn);

  it('same-origin JSON (by Sec-Fetch-Site, or by Origin alone) saves the note for the signed-in user', async () => {
    expect((await request(`${url}/api/notes`, { cookie, body: { text: 'mine' }, headers: { 'sec-fetch-site': 'same-origin', origin: url } })).status).toBe(201);
    expect((await request(`${url}/api/notes`, { cookie, body: { text: 'mine too' }, headers: { origin: url } })).status).toBe(201);
    expect(site.notes.slice(-2)).toEqual([
      { user: 'writer', text: 'mine' },
      { user: 'writer', text: 'mine too' },
    ]);
  });

  it('a request with neither header (curl, another server) is not a browser’s and passes; GET is never refused', async () => {
    expect((await request(`${url}/api/notes`, { cookie, body: { text: 'from curl' } })).status).toBe(201);
    expect((await request(`${url}/`, { headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } })).status).toBe(200);
  });
});

describe('a refusal is the host’s error to answer', () => {
  it('thrown as Koa’s HttpError: the host’s own error handler answers it in the host’s shape', async () => {
    const gatehouse = await createGatehouse({ keys: [TEST_KEY], cookie: { secure: false }, logger: createLogger('silent') });
    const app = new Koa();
    app.silent = true;
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        ctx.status = (error as { status?: number }).status ?? 500;
        ctx.body = { problem: (error as Error).message };
      }
    });
    app.use(gatehouse.csrf());
    app.use((ctx) => {
      ctx.body = { ok: true };
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const res = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/anything`, { body: {}, headers: { 'sec-fetch-site': 'cross-site' } });
      expect(res.status).toBe(403);
      expect(res.json).toEqual({ problem: 'Cross-site request refused. Call this API from its own origin or one listed in ALLOWED_ORIGINS.' });
    } finally {
      server.closeAllConnections();
      server.close();
      await gatehouse.close();
    }
  });
});

describe('misuse fails when the guard is made, naming the fix', () => {
  it.each([
    ['json', 'gatehouse.csrf() takes an options object, e.g. gatehouse.csrf({ requireJson: true }); got "json"'],
    [{ requireJSON: true }, 'gatehouse.csrf(): "requireJSON" is not an option; the one option is requireJson: true (refuse bodies that are not application/json with 415)'],
    [{ requireJson: 'yes' }, 'gatehouse.csrf({ requireJson }) must be true or false, got "yes"'],
  ])('csrf(%j)', (options, message) => {
    const csrf = site.gatehouse.csrf as (options: unknown) => unknown;
    expect(() => csrf(options)).toThrow(GatehouseOptionsError);
    expect(() => csrf(options)).toThrow(message);
  });
});
