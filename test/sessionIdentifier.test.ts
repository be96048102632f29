import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { openStore } from '../server/store/openStore.js';
import { request, sessionCookie } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';

// S1 (ASVS 7.2.3, 11.5.1) and S3 of SECURITY.md, seen from outside: the cookie's id, and what the store is given.
const writes: string[] = [];

/** The memory store, recording every key and value it is asked to write. */
async function recordingStore(): Promise<KeyValueStore> {
  const real = await openStore({ url: 'memory://', timeoutMs: 1000 });
  return new Proxy(real, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = (value as (...args: unknown[]) => unknown).bind(target);
      if (property === 'set' || property === 'add' || property === 'replace' || property === 'mapSet') {
        return (...args: unknown[]) => {
          writes.push(args.filter((a) => typeof a === 'string').join('\n'));
          return method(...args);
        };
      }
      return method;
    },
  });
}

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ deps: { store: await recordingStore() } });
});
afterAll(() => srv.close());

const idOf = (cookie: string) => cookie.slice(cookie.indexOf('=') + 1).split('.')[0]!;

describe('the session id in the cookie', () => {
  it('is 256 bits in base64url (43 characters, 32 bytes), not a UUID, and never repeats over 20 logins', async () => {
    expect((await request(`${srv.url}/trpc/auth.register`, { body: { username: 'id-check', password: 'correct horse battery' } })).status).toBe(200);
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await request(`${srv.url}/trpc/auth.login`, { body: { username: 'id-check', password: 'correct horse battery' } });
      const id = idOf(sessionCookie(res));
      expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(32);
      expect(id).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/i);
      ids.add(id);
    }
    expect(ids.size).toBe(20);
  });
});

describe('what the store is given', () => {
  it('the session is stored under SHA-256(id), and no key or value written ever contains the raw id or the cookie', async () => {
    writes.length = 0;
    const res = await request(`${srv.url}/trpc/auth.register`, { body: { username: 'store-key-check', password: 'correct horse battery' } });
    const cookie = sessionCookie(res);
    const id = idOf(cookie);
    const hashed = `s:${createHash('sha256').update(id).digest('base64url')}`;
    expect(writes.some((w) => w.startsWith(`${hashed}\n`))).toBe(true);
    for (const written of writes) {
      expect(written).not.toContain(id);
      expect(written).not.toContain(cookie.slice(cookie.indexOf('=') + 1));
    }
    // The stored key is not a cookie: presented as one, it is nobody.
    expect((await request(`${srv.url}/trpc/data`, { cookie: `sid=${hashed.slice(2)}` })).status).toBe(401);
  });
});
