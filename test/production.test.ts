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
  ])('%j → %s', (env, message) => {
    expect(configError({ ...PROD, ...env })).toContain(message);
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
