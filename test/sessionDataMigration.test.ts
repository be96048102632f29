import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createGatehouse, createLogger, type KeyValueStore, type MigrateSessionData, openStore } from '../server/index.js';
import { initGatehouse } from '../server/definition.js';
import { shared } from './helpers/backendServer.js';
import { request, sessionCookie } from './helpers/http.js';
import { TEST_KEY } from './helpers/server.js';

// Issue 11 §1: a stored record that no longer matches the data schema after a deploy follows a documented rule:
// the session ends, unless the team supplies a migration hook (whose result is validated and written back).
const before = z.object({ theme: z.enum(['light', 'dark', 'blue']).default('light') });
const after = z.object({ theme: z.enum(['light', 'dark']).default('light'), fontSize: z.number().default(14) });

function appOn(store: KeyValueStore, dataSchema: z.ZodType<object>, migrateSessionData?: MigrateSessionData) {
  const gh = initGatehouse({ sessionData: dataSchema as typeof after, ...(migrateSessionData ? { migrateSessionData } : {}) });
  const router = gh.router({
    ...gh.routes,
    data: gh.protectedProcedure.query(({ ctx }) => ctx.session.current.data),
    setTheme: gh.protectedProcedure.mutation(({ ctx }) => ctx.session.update({ theme: 'blue' as never })),
  });
  return async () => {
    const gatehouse = await createGatehouse(gh, { keys: [TEST_KEY], store: shared(store), cookie: { secure: false }, logger: createLogger('silent') });
    const app = new Koa();
    app.use(gatehouse.session());
    app.use(gatehouse.trpc({ router }));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        await gatehouse.close();
      },
    };
  };
}

describe('session data written under an older schema', () => {
  let store: KeyValueStore;
  beforeAll(async () => {
    store = await openStore({ url: 'memory://', timeoutMs: 1000 });
  });
  afterAll(() => store.close());

  /** Signs a user up on the old deploy and gives the session data the new schema refuses. */
  async function oldSession(username: string): Promise<string> {
    const old = await appOn(store, before)();
    try {
      const cookie = sessionCookie(await request(`${old.url}/trpc/auth.register`, { body: { username, password: 'correct horse battery' } }));
      expect((await request(`${old.url}/trpc/setTheme`, { cookie, body: {} })).status).toBe(200);
      expect((await request(`${old.url}/trpc/data`, { cookie })).json).toEqual({ result: { data: { theme: 'blue' } } });
      return cookie;
    } finally {
      await old.close();
    }
  }

  it('without a migration hook the session ends: 401, and the record is removed', async () => {
    const cookie = await oldSession('no-migration');
    const next = await appOn(store, after)();
    try {
      expect((await request(`${next.url}/trpc/data`, { cookie })).status).toBe(401);
      expect((await request(`${next.url}/trpc/auth.me`, { cookie })).json).toEqual({ result: { data: null } });
    } finally {
      await next.close();
    }
  });

  it('with a migration hook the session lives on with the migrated data, validated (defaults applied) and written back', async () => {
    const cookie = await oldSession('migrated');
    const seen: unknown[] = [];
    const migrate: MigrateSessionData = (stored) => {
      seen.push(stored);
      const theme = (stored as { theme?: string }).theme;
      return { ...(stored as object), theme: theme === 'blue' ? 'dark' : theme };
    };
    const next = await appOn(store, after, migrate)();
    try {
      expect((await request(`${next.url}/trpc/data`, { cookie })).json).toEqual({ result: { data: { theme: 'dark', fontSize: 14 } } });
      expect(seen).toEqual([{ theme: 'blue' }]);
      // Written back in the new shape: the next read needs no migration.
      expect((await request(`${next.url}/trpc/data`, { cookie })).json).toEqual({ result: { data: { theme: 'dark', fontSize: 14 } } });
      expect(seen).toHaveLength(1);
    } finally {
      await next.close();
    }
  });

  it('a hook that returns undefined, or data the schema still refuses, ends the session', async () => {
    for (const migrate of [() => undefined, () => ({ theme: 'blue' })]) {
      const cookie = await oldSession(`refused-${migrate.length}-${Math.random().toString(36).slice(2, 8)}`);
      const next = await appOn(store, after, migrate)();
      try {
        expect((await request(`${next.url}/trpc/data`, { cookie })).status).toBe(401);
      } finally {
        await next.close();
      }
    }
  });
});
