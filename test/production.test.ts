import { directoryOf } from './helpers/server.js';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../server/config.js';
import { parseSetCookie, request } from './helpers/http.js';
import { TEST_KEY, startServer } from './helpers/server.js';

const PROD = { NODE_ENV: 'production', SESSION_KEYS: TEST_KEY };

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration errors name the variable and the fix', () => {
  it('production without SESSION_KEYS refuses to start', () => {
    expect(configError({ NODE_ENV: 'production' })).toContain(
      'SESSION_KEYS must hold at least one key of 32+ characters in production',
    );
  });

  it('production with a short key refuses to start', () => {
    expect(configError({ NODE_ENV: 'production', SESSION_KEYS: `${TEST_KEY},short` })).toMatch(/SESSION_KEYS.*32\+ characters/);
  });

  it.each([
    [{ SESSION_IDLE_TIMEOUT: 'soon' }, 'SESSION_IDLE_TIMEOUT must be a positive duration'],
    [{ SESSION_ABSOLUTE_TIMEOUT: '-5' }, 'SESSION_ABSOLUTE_TIMEOUT must be a positive duration'],
    [{ SESSION_IDLE_TIMEOUT: '2h', SESSION_ABSOLUTE_TIMEOUT: '1h' }, 'SESSION_ABSOLUTE_TIMEOUT must be at least SESSION_IDLE_TIMEOUT'],
    [{ PORT: 'eighty' }, 'PORT must be a number'],
    [{ PORT: '70000' }, 'PORT must be between 0 and 65535'],
    [{ SESSION_STORE_URL: 'mysql://db' }, 'SESSION_STORE_URL must start with one of memory://'],
    [{ ALLOWED_ORIGINS: 'https://ok.example,https://bad.example/path' }, 'bad: https://bad.example/path'],
    [{ TRUST_PROXY: 'yes' }, 'TRUST_PROXY must be 1 or 0'],
    [{ SESSION_COOKIE_SAMESITE: 'none' }, 'SESSION_COOKIE_SAMESITE must be lax or strict'],
    [{ SESSION_BEARER: 'yes' }, 'SESSION_BEARER must be on or off, got "yes"'],
    [{ SESSION_STAY_SIGNED_IN: 'forever' }, `SESSION_STAY_SIGNED_IN must be off, on (30 days), or the device credential's lifetime with a unit (e.g. 14d, 720h), got "forever"`],
    [{ SESSION_STAY_SIGNED_IN: '30' }, 'SESSION_STAY_SIGNED_IN needs a unit: 30d for days, 30h for hours (got "30")'],
    [{ SESSION_STAY_SIGNED_IN: '0d' }, `SESSION_STAY_SIGNED_IN must be off, on (30 days), or the device credential's lifetime with a unit (e.g. 14d, 720h), got "0d"`],
    [
      { SESSION_STAY_SIGNED_IN: '401d' },
      `SESSION_STAY_SIGNED_IN must be at most 400d, got "401d": browsers cap a cookie's lifetime at 400 days, so a longer one would end earlier than it says. Use 400d or less`,
    ],
    [{ SESSION_STAY_SIGNED_IN: '9601h' }, 'SESSION_STAY_SIGNED_IN must be at most 400d, got "9601h"'],
    [
      { SESSION_STAY_SIGNED_IN: '20m' },
      "SESSION_STAY_SIGNED_IN (the device credential's lifetime) must be longer than SESSION_IDLE_TIMEOUT: a credential that ends before the session idles out never resumes one. Use e.g. 30d, or off",
    ],
  ])('%j → %s', (env, message) => {
    expect(configError({ ...PROD, ...env })).toContain(message);
  });

  it('production with SESSION_KEYS blank (only spaces) refuses to start as if it were unset', () => {
    expect(configError({ NODE_ENV: 'production', SESSION_KEYS: '   ' })).toContain(
      'SESSION_KEYS must hold at least one key of 32+ characters in production',
    );
  });

  it('an empty or blank value counts as unset: every default applies (PORT= is not port 0)', () => {
    const blank = loadConfig({
      NODE_ENV: '',
      PORT: '',
      HOST: '  ',
      SESSION_STORE_URL: '',
      SESSION_STORE_NAMESPACE: ' ',
      SESSION_IDLE_TIMEOUT: '',
      SESSION_ABSOLUTE_TIMEOUT: '\t',
      SESSION_STORE_TIMEOUT: '',
      SESSION_MAX_PER_USER: '',
      SESSION_BEARER: '',
      SESSION_STAY_SIGNED_IN: ' ',
      SESSION_COOKIE_SAMESITE: '',
      TRUST_PROXY: '',
      LOG_LEVEL: '',
      METRICS_PORT: ' ',
      LOGIN_THROTTLE_WINDOW: '',
    });
    const unset = loadConfig({});
    expect({ ...blank, gatehouse: { ...blank.gatehouse, keys: [] } }).toEqual({ ...unset, gatehouse: { ...unset.gatehouse, keys: [] } });
    expect([blank.env, blank.port, blank.host, blank.logLevel, blank.gatehouse.store, blank.gatehouse.idleTimeout, blank.gatehouse.staySignedIn]).toEqual([
      'development',
      3000,
      '127.0.0.1',
      'info',
      'sqlite://data/gatehouse.sqlite',
      1_800_000,
      true,
    ]);
    expect(blank.metrics).toBeUndefined();
  });

  it('values are trimmed (a stray space or newline from a secrets file is not part of the value)', () => {
    const config = loadConfig({
      ...PROD,
      NODE_ENV: 'production\n',
      PORT: ' 8080 ',
      SESSION_IDLE_TIMEOUT: ' 15m',
      SESSION_COOKIE_SAMESITE: 'strict ',
      SESSION_STAY_SIGNED_IN: ' 400d ',
      TRUST_PROXY: '1\n',
    });
    expect([config.env, config.port, config.gatehouse.idleTimeout, config.gatehouse.cookie?.sameSite, config.gatehouse.staySignedIn, config.gatehouse.trustProxy]).toEqual([
      'production',
      8080,
      900_000,
      'strict',
      { lifetime: 400 * 86_400_000 },
      true,
    ]);
  });

  it('lists every problem at once', () => {
    const message = configError({ NODE_ENV: 'production', PORT: 'x', SESSION_IDLE_TIMEOUT: 'y' });
    expect(message).toContain('PORT');
    expect(message).toContain('SESSION_IDLE_TIMEOUT');
  });

  it('accepts seconds or units for timeouts, and generates a key in development only', () => {
    const config = loadConfig({ SESSION_IDLE_TIMEOUT: '900', SESSION_ABSOLUTE_TIMEOUT: '8h' });
    expect(config.gatehouse.idleTimeout).toBe(900_000);
    expect(config.gatehouse.absoluteTimeout).toBe(8 * 3_600_000);
    expect(config.keysGenerated).toBe(true);
    expect(config.gatehouse.keys[0]!.length).toBeGreaterThanOrEqual(32);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('the server process exits with the readable message and no stack trace', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'server/reference/main.ts'], {
      env: { ...process.env, NODE_ENV: 'production', SESSION_KEYS: '' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Invalid configuration:');
    expect(result.stderr).toContain('SESSION_KEYS must hold at least one key of 32+ characters in production');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('SESSION_BEARER and SESSION_STAY_SIGNED_IN (on by default in the reference server)', () => {
  const DAY = 24 * 3_600_000;

  it.each([
    [{}, true, true],
    [{ SESSION_BEARER: 'off', SESSION_STAY_SIGNED_IN: 'off' }, false, false],
    [{ SESSION_BEARER: 'ON', SESSION_STAY_SIGNED_IN: 'On' }, true, true],
    [{ SESSION_BEARER: '0', SESSION_STAY_SIGNED_IN: '0' }, false, false],
    [{ SESSION_BEARER: '1', SESSION_STAY_SIGNED_IN: '14d' }, true, { lifetime: 14 * DAY }],
    [{ SESSION_STAY_SIGNED_IN: '720h' }, true, { lifetime: 30 * DAY }],
  ])('%j → bearer %j, staySignedIn %j', (env, bearer, staySignedIn) => {
    const { gatehouse } = loadConfig({ ...PROD, ...env });
    expect(gatehouse.bearer).toBe(bearer);
    expect(gatehouse.staySignedIn).toEqual(staySignedIn);
  });

  const signUp = (url: string, username: string, headers: Record<string, string> = {}, staySignedIn?: true) =>
    request(`${url}/trpc/auth.register`, { headers, body: { username, password: 'correct horse battery', ...(staySignedIn ? { staySignedIn } : {}) } });

  it('by default a CLI gets a bearer token (no cookie), and a login that ticks "stay signed in" gets sid-remember for 30 days', async () => {
    const srv = await startServer();
    try {
      const cli = await signUp(srv.url, 'env-cli', { 'gatehouse-session': 'bearer' });
      expect(cli.status).toBe(200);
      expect(cli.setCookies).toEqual([]);
      const token = cli.headers.get('gatehouse-session-token')!;
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}/);
      expect((await request(`${srv.url}/trpc/data`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);

      const browser = await signUp(srv.url, 'env-stay', {}, true);
      expect(browser.status).toBe(200);
      const remember = browser.setCookies.map(parseSetCookie).find((cookie) => cookie.name === 'sid-remember')!;
      expect(Math.abs(new Date(remember.attributes.get('expires')!).getTime() - (Date.now() + 30 * DAY))).toBeLessThan(60_000);
    } finally {
      await srv.close();
    }
  });

  it('SESSION_STAY_SIGNED_IN=14d: the credential lives 14 days', async () => {
    const srv = await startServer({ env: { SESSION_STAY_SIGNED_IN: '14d' } });
    try {
      const res = await signUp(srv.url, 'env-14d', {}, true);
      const remember = res.setCookies.map(parseSetCookie).find((cookie) => cookie.name === 'sid-remember')!;
      expect(Math.abs(new Date(remember.attributes.get('expires')!).getTime() - (Date.now() + 14 * DAY))).toBeLessThan(60_000);
    } finally {
      await srv.close();
    }
  });

  it('off: Gatehouse-Session: bearer gets a cookie session and no token, Authorization: Bearer is not read, and staySignedIn: true is a 400', async () => {
    const srv = await startServer({ env: { SESSION_BEARER: 'off', SESSION_STAY_SIGNED_IN: 'off' } });
    try {
      const asked = await signUp(srv.url, 'env-off', { 'gatehouse-session': 'bearer' });
      expect(asked.status).toBe(200);
      expect(asked.headers.get('gatehouse-session-token')).toBeNull();
      expect(asked.setCookies.map((line) => parseSetCookie(line).name)).toEqual(['sid']);
      const id = parseSetCookie(asked.setCookies[0]!).value;
      const bearer = await request(`${srv.url}/trpc/data`, { headers: { authorization: `Bearer ${id}` } });
      expect(bearer.status).toBe(401);
      expect(bearer.headers.get('www-authenticate')).toBeNull();
      const stay = await signUp(srv.url, 'env-off-stay', {}, true);
      expect(stay.status).toBe(400);
      expect((stay.json as { error: { message: string } }).error.message).toBe('This server does not offer staying signed in (createGatehouse({ staySignedIn: true }) turns it on).');
      expect(stay.setCookies).toEqual([]);
    } finally {
      await srv.close();
    }
  });
});

describe('in production behind a trusted TLS proxy (TRUST_PROXY=1, X-Forwarded-Proto: https)', () => {
  it('the login cookie is __Host-sid with Secure, HttpOnly, SameSite=Lax, Path=/ and no Domain', async () => {
    const srv = await startServer({ env: { ...PROD, TRUST_PROXY: '1' } });
    try {
      const res = await request(`${srv.url}/trpc/auth.register`, {
        headers: { 'x-forwarded-proto': 'https' },
        body: { username: 'prod-user', password: 'correct horse battery' },
      });
      expect(res.status).toBe(200);
      expect(res.setCookies).toHaveLength(1);
      const cookie = parseSetCookie(res.setCookies[0]!);
      expect(cookie.name).toBe('__Host-sid');
      expect([...cookie.attributes.keys()].sort()).toEqual(['expires', 'httponly', 'path', 'samesite', 'secure']);
      expect(cookie.attributes.get('path')).toBe('/');
      expect(cookie.attributes.get('samesite')).toBe('lax');
      expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');

      const data = await request(`${srv.url}/trpc/data`, {
        headers: { 'x-forwarded-proto': 'https' },
        cookie: `__Host-sid=${cookie.value}`,
      });
      expect(data.status).toBe(200);
      // The development cookie name means nothing here.
      const wrongName = await request(`${srv.url}/trpc/data`, { headers: { 'x-forwarded-proto': 'https' }, cookie: `sid=${cookie.value}` });
      expect(wrongName.status).toBe(401);
    } finally {
      await srv.close();
    }
  });

  it('SESSION_COOKIE_SAMESITE=strict gives SameSite=Strict', async () => {
    const srv = await startServer({ env: { ...PROD, TRUST_PROXY: '1', SESSION_COOKIE_SAMESITE: 'strict' } });
    try {
      const res = await request(`${srv.url}/trpc/auth.register`, {
        headers: { 'x-forwarded-proto': 'https' },
        body: { username: 'strict-user', password: 'correct horse battery' },
      });
      expect(parseSetCookie(res.setCookies[0]!).attributes.get('samesite')).toBe('strict');
    } finally {
      await srv.close();
    }
  });
});

describe('in production over plain HTTP', () => {
  it('login is refused with 403 and a message saying how to fix it, and no cookie', async () => {
    const srv = await startServer({ env: { ...PROD, TRUST_PROXY: '1' } });
    try {
      const res = await request(`${srv.url}/trpc/auth.register`, { body: { username: 'plain-http', password: 'correct horse battery' } });
      expect(res.status).toBe(403);
      expect((res.json as { error: { message: string } }).error.message).toContain('HTTPS is required');
      expect(res.setCookies).toEqual([]);
      expect(await directoryOf(srv.gatehouse).findByUsername('plain-http')).toBeUndefined();
      // Health checks from a load balancer still work over plain HTTP.
      expect((await request(`${srv.url}/healthz`)).status).toBe(200);
    } finally {
      await srv.close();
    }
  });

  it('a spoofed X-Forwarded-Proto is ignored when the proxy is not trusted: refused, no cookie, no 500', async () => {
    const srv = await startServer({ env: { ...PROD, TRUST_PROXY: '0' } });
    try {
      const res = await request(`${srv.url}/trpc/auth.register`, {
        headers: { 'x-forwarded-proto': 'https' },
        body: { username: 'spoofed-proto', password: 'correct horse battery' },
      });
      expect(res.status).toBe(403);
      expect(res.setCookies).toEqual([]);
    } finally {
      await srv.close();
    }
  });
});

// Issue 18 §5, item 6: the registration above is refused by the session layer as well (it will not start a session
// over plain HTTP), so it cannot tell whether httpsOnly() itself trusted the header. A query starts no session.
describe('httpsOnly() and X-Forwarded-Proto in production (Secure cookies)', () => {
  const https = (value: string) => ({ 'x-forwarded-proto': value });

  it('without TRUST_PROXY, plain HTTP claiming X-Forwarded-Proto: https is 403 on a query and on the host’s own page, with no cookie', async () => {
    const srv = await startServer({ env: { ...PROD, TRUST_PROXY: '0' } });
    try {
      for (const path of ['/trpc/auth.me', '/']) {
        const res = await request(`${srv.url}${path}`, { headers: https('https') });
        expect(res.status).toBe(403);
        expect(res.body).toContain('HTTPS is required');
        expect(res.setCookies).toEqual([]);
      }
    } finally {
      await srv.close();
    }
  });

  it('with TRUST_PROXY=1, the proxy’s last value counts: "https" and "http, https" are served (200), "https, http" is 403 on a query and on the host’s own page', async () => {
    const srv = await startServer({ env: { ...PROD, TRUST_PROXY: '1' } });
    try {
      for (const value of ['https', 'http, https']) {
        const me = await request(`${srv.url}/trpc/auth.me`, { headers: https(value) });
        expect(me.status).toBe(200);
        expect(me.json).toEqual({ result: { data: null } });
      }
      for (const path of ['/trpc/auth.me', '/']) {
        const refused = await request(`${srv.url}${path}`, { headers: https('https, http') });
        expect(refused.status).toBe(403);
        expect(refused.body).toContain('HTTPS is required');
        expect(refused.setCookies).toEqual([]);
      }
    } finally {
      await srv.close();
    }
  });
});
