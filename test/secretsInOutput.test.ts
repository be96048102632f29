import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/freePort.js';
import { request } from './helpers/http.js';
import { PrivateRedis } from './helpers/privateRedis.js';
import { run } from './helpers/run.js';
import { startServerProcess } from './helpers/serverProcess.js';
import { TEST_KEY } from './helpers/server.js';

// D2 / attack 26: a store URL with a password → the password appears in no output (banner, logs, errors, /healthz, CLI).
const REDIS_SECRET = 'redis-Pa55-d2-marker';
const PG_SECRET = 'pg-Pa55-d2-marker';
const DATABASE_URL = process.env.DATABASE_URL;
if (!DATABASE_URL && process.env.CI) throw new Error('DATABASE_URL must be set in CI');

const namespace = `gh_secret_${process.pid}`;
const baseEnv = { NODE_ENV: 'development', SESSION_KEYS: TEST_KEY, SESSION_STORE_NAMESPACE: namespace, SESSION_STORE_TIMEOUT: '300ms' };

describe('a Redis URL with a password', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await PrivateRedis.start({ password: REDIS_SECRET });
  });
  afterAll(() => redis.destroy());

  it('the development banner, the logs, /healthz and a store outage show the URL with *** and never the password', async () => {
    const server = await startServerProcess({ ...baseEnv, SESSION_STORE_URL: redis.url });
    try {
      const register = await request(`${server.url}/trpc/auth.register`, { body: { username: 'd2-user', password: 'correct horse battery' } });
      expect(register.status).toBe(200);
      const health = await request(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      expect(health.body).not.toContain(REDIS_SECRET);
      await redis.stop();
      const down = await request(`${server.url}/healthz`);
      expect(down.status).toBe(503);
      expect(down.body).not.toContain(REDIS_SECRET);
      await redis.restart();
    } finally {
      await server.stop();
    }
    const output = server.output();
    expect(output).toContain(`(store: redis://default:***@127.0.0.1:${redis.port})`);
    expect(output).toContain('"storeUrl":"redis://default:***@127.0.0.1:');
    expect(output).toContain('store error');
    expect(output).not.toContain(REDIS_SECRET);
  });

  it('the users CLI prints its failure without the password', async () => {
    const failed = await run('npm', ['run', '--silent', 'users', '--', 'revoke-sessions', 'nobody'], {
      env: { ...baseEnv, SESSION_STORE_URL: `redis://default:${REDIS_SECRET}@127.0.0.1:1` },
    });
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain('failed: ');
    expect(failed.stdout + failed.stderr).not.toContain(REDIS_SECRET);
  });
});

describe('Cluster and Sentinel URLs with passwords (servers unreachable, so every store call fails and is logged)', () => {
  const SENTINEL_SECRET = 'sentinel-Pa55-d2-marker';
  it.each([
    ['redis+cluster', async () => `redis+cluster://app:${REDIS_SECRET}@127.0.0.1:${await freePort()},127.0.0.1:${await freePort()}`],
    ['redis+sentinel', async () => `redis+sentinel://app:${REDIS_SECRET}@127.0.0.1:${await freePort()}/mymaster?sentinelPassword=${SENTINEL_SECRET}`],
  ])('%s: the banner, the logs and /healthz show *** and neither password', async (_form, urlOf) => {
    const url = await urlOf();
    const server = await startServerProcess({ ...baseEnv, SESSION_STORE_URL: url });
    try {
      const health = await request(`${server.url}/healthz`);
      expect(health.status).toBe(503);
      expect((await request(`${server.url}/trpc/auth.login`, { body: { username: 'd2-user', password: 'correct horse battery' } })).status).toBe(503);
    } finally {
      await server.stop();
    }
    const output = server.output();
    expect(output).toContain(`app:***@127.0.0.1:`);
    expect(output).not.toContain(REDIS_SECRET);
    expect(output).not.toContain(SENTINEL_SECRET);
  });
});

describe.runIf(DATABASE_URL)('a PostgreSQL URL with a password', () => {
  it('the banner shows *** in its place (the server accepts it: trust authentication)', async () => {
    const url = new URL(DATABASE_URL!);
    url.password = PG_SECRET;
    const server = await startServerProcess({ ...baseEnv, SESSION_STORE_URL: url.toString() });
    try {
      expect((await request(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await server.stop();
    }
    expect(server.output()).toContain(`:***@${url.host}`);
    expect(server.output()).not.toContain(PG_SECRET);
  });
});
