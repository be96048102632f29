import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createGatehouse, createLogger, GatehouseOptionsError, type GatehouseOptions, initGatehouse } from '../server/index.js';
import { TEST_KEY } from './helpers/server.js';

// Issue 10 §2: createGatehouse takes a typed options object; a bad one is one readable error naming each bad
// option and its fix (and never echoing a key or a store URL, which may carry a password).
async function problemOf(options: unknown): Promise<string> {
  try {
    const gatehouse = await createGatehouse(options as GatehouseOptions);
    await gatehouse.close();
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseOptionsError);
    return (error as Error).message;
  }
  throw new Error('expected a GatehouseOptionsError');
}

const keys = [TEST_KEY];

describe('createGatehouse options', () => {
  it.each([
    [{}, 'options.keys is required: an array of secrets of 32+ characters, newest first (generate one with: openssl rand -base64 48)'],
    [{ keys: [] }, 'options.keys must hold at least one secret of 32+ characters'],
    [{ keys: ['short'] }, 'options.keys[0] must be at least 32 characters (generate one with: openssl rand -base64 48)'],
    [{ keys, idleTimout: '30m' }, 'options.idleTimout is not an option (did you mean idleTimeout?)'],
    [{ keys, idleTimeout: '1800' }, "options.idleTimeout must name its unit: '1800s' or '1800ms' (or pass a number of milliseconds)"],
    [{ keys, absoluteTimeout: 'soon' }, `options.absoluteTimeout must be a positive duration like '500ms', '30s', '30m', '12h' or '7d', got "soon"`],
    [{ keys, idleTimeout: '2h', absoluteTimeout: '1h' }, 'options.absoluteTimeout must be at least options.idleTimeout'],
    [{ keys, store: 'mysql://root:hunter2@db' }, 'options.store must start with one of memory://, sqlite://'],
    [{ keys, allowedOrigins: ['https://app.example.com/path'] }, 'options.allowedOrigins[0] must be an origin like https://app.example.com (scheme and host, no path), got "https://app.example.com/path"'],
    [{ keys, cookie: { sameSite: 'none' } }, 'options.cookie.sameSite must be "lax" or "strict"'],
    [{ keys, cookie: { secure: false, name: '__Host-sid' } }, 'options.cookie.name "__Host-sid" needs options.cookie.secure: true'],
    [{ keys, throttle: { perAcount: 3 } }, 'options.throttle.perAcount is not an option (did you mean perAccount?)'],
    [{ keys, maxSessionsPerUser: 0 }, 'options.maxSessionsPerUser must be at least 1'],
    [{ keys, trustProxy: 'yes' }, 'options.trustProxy must be true or false'],
    [{ keys, accounts: { find: () => undefined } }, 'options.accounts must be an accounts adapter with at least authenticate() and findById()'],
    [{ keys: TEST_KEY }, 'options.keys must be an array of secrets, newest first: keys: [yourSecret] (each 32+ characters'],
    [{ keys, cookie: { clearSiteData: 'no' } }, 'options.cookie.clearSiteData must be true or false'],
    [{ keys, staySignedIn: { lifetime: '401d' } }, "options.staySignedIn.lifetime must be at most 400 days: browsers cap a cookie's lifetime at 400 days"],
  ])('%j → %s', async (options, message) => {
    expect(await problemOf(options)).toContain(message);
  });

  it('a namespace next to a store instance is refused: the instance keeps the one it was opened with', async () => {
    const { openStore } = await import('../server/index.js');
    const store = await openStore({ url: 'memory://', timeoutMs: 1_000, namespace: 'mine' });
    expect(await problemOf({ keys, store, storeNamespace: 'other' })).toContain(
      'options.storeNamespace applies to store URLs only: a store instance keeps the namespace it was opened with (openStore({ namespace }), keyvStore(…, { namespace }), redisStoreFor(…, { namespace }))',
    );
    await store.close();
  });

  it('a storeTimeout next to a store instance is refused: the instance keeps the deadline it was opened with', async () => {
    const { openStore } = await import('../server/index.js');
    const store = await openStore({ url: 'memory://', timeoutMs: 1_000 });
    expect(await problemOf({ keys, store, storeTimeout: '2s' })).toContain(
      'options.storeTimeout applies to store URLs only: a store instance keeps the deadline it was opened with (openStore({ url, timeoutMs }), keyvStore(…, { timeoutMs }), redisStoreFor(…, { timeoutMs }))',
    );
    await store.close();
  });

  it.each([undefined, 0, Number.NaN])('openStore() without a usable timeoutMs (%s) fails at once, naming the option', async (timeoutMs) => {
    const { openStore } = await import('../server/index.js');
    await expect(openStore({ url: 'memory://', timeoutMs } as never)).rejects.toThrow(
      `openStore(): options.timeoutMs is required, the deadline of each store operation in ms: openStore({ url, timeoutMs: 1000 }); got ${String(timeoutMs)}`,
    );
  });

  it('lists every problem at once, and never echoes a key or the store URL', async () => {
    const message = await problemOf({ keys: ['a-short-secret-key'], store: 'mysql://root:hunter2@db', idleTimeout: 'x', cookie: { secure: 'no' } });
    for (const option of ['options.keys[0]', 'options.store', 'options.idleTimeout', 'options.cookie.secure']) expect(message).toContain(option);
    expect(message).not.toContain('a-short-secret-key');
    expect(message).not.toContain('hunter2');
  });

  it('defaults: Secure __Host-sid cookies, SameSite=Lax, no Clear-Site-Data, 30 min idle, 12 h absolute, 10 sessions per user, a 10 min fresh-login window', async () => {
    const gatehouse = await createGatehouse({ keys, logger: createLogger('silent') });
    try {
      expect(gatehouse.options).toMatchObject({
        store: 'memory://',
        cookie: { name: '__Host-sid', sameSite: 'lax', secure: true, clearSiteData: false },
        idleTimeoutMs: 1_800_000,
        absoluteTimeoutMs: 43_200_000,
        maxSessionsPerUser: 10,
        freshLoginWindowMs: 600_000,
        trustProxy: false,
      });
      expect(Object.isFrozen(gatehouse.options)).toBe(true);
    } finally {
      await gatehouse.close();
    }
  });

  it('a definition with the team’s own user needs the team’s accounts adapter', async () => {
    const gh = initGatehouse({ user: z.object({ id: z.string(), email: z.string() }) });
    // @ts-expect-error: the types refuse it too (typeLevel.test.ts); a JavaScript caller gets this message at start
    await expect(createGatehouse(gh, { keys })).rejects.toThrow(
      'options.accounts is required: your initGatehouse() defines your own user, so Gatehouse needs your user table',
    );
  });
});
