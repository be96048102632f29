import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { request, signUp } from './helpers/http.js';
import { startServer } from './helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the embedded SQLite store', () => {
  it('creates its file on first start, and sessions and accounts survive an app restart', async () => {
    const env = { SESSION_STORE_URL: `sqlite://${join(dir, 'nested', 'gatehouse.sqlite')}` };
    const first = await startServer({ env });
    const cookie = await signUp(first.url, 'persistent');
    expect((await request(`${first.url}/trpc/data`, { cookie })).status).toBe(200);
    await first.close();

    const second = await startServer({ env });
    try {
      expect(second.gatehouse.store.kind).toBe('sqlite');
      expect((await request(`${second.url}/trpc/data`, { cookie })).status).toBe(200);
      const login = await request(`${second.url}/trpc/auth.login`, {
        body: { username: 'persistent', password: 'correct horse battery' },
      });
      expect(login.status).toBe(200);
      // Logging out on the restarted server really ends the session stored by the first one.
      await request(`${second.url}/trpc/auth.logout`, { method: 'POST', cookie, body: '' });
      expect((await request(`${second.url}/trpc/data`, { cookie })).status).toBe(401);
    } finally {
      await second.close();
    }
  });
});
