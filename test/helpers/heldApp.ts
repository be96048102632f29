import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import argon2 from 'argon2';
import Koa from 'koa';
import { z } from 'zod';
import { type BuiltInAccounts, createGatehouse, type Duration, createLogger, createPasswordHasher, type Gatehouse, initGatehouse, type KeyValueStore } from '../../server/index.js';
import { ManualClock } from './clock.js';
import { TEST_KEY } from './server.js';

/** The built-in user, and session data a team keeps: a flag a revocation clears, and a list an update appends to. */
export const heldGatehouse = initGatehouse({
  sessionData: z.object({ elevated: z.boolean().default(true), marks: z.array(z.string()).max(100).default([]) }),
});
const gh = heldGatehouse;

/** A promise the test resolves by hand. */
function latch() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

/** What a parked request does once released: nothing more (a read), an update, or a rotation. */
const afterRelease = z.enum(['read', 'mark', 'rotate']);

export interface HeldApp {
  url: string;
  clock: ManualClock;
  gatehouse: Gatehouse<{ id: string; username: string; role: 'user' | 'admin' }, { elevated: boolean; marks: string[] }, unknown>;
  /** Parks the next `slow` request named `name` inside its handler (its session already loaded). */
  hold(name: string): { entered: Promise<void>; release: () => void };
  /** Creates an account directly (an admin, say). */
  createUser(username: string, password: string, role?: 'user' | 'admin'): Promise<void>;
  close(): Promise<void>;
}

/**
 * Gatehouse's routes and a team's own: `mark` (an update by function),
 * `revokeElevated` (an update by patch), `rotate` (`session.rotate()`),
 * `read`, and `slow`, which parks inside its handler until the test
 * releases it and then reads, marks or rotates — a request that loaded
 * the session before whatever the test runs meanwhile.
 */
export async function startHeldApp(store: KeyValueStore, options: { clock?: ManualClock; idleTimeout?: Duration; absoluteTimeout?: Duration } = {}): Promise<HeldApp> {
  const parked = new Map<string, { entered: ReturnType<typeof latch>; release: ReturnType<typeof latch> }>();
  const router = gh.router({
    ...gh.routes,
    mark: gh.protectedProcedure.input(z.object({ mark: z.string() })).mutation(({ ctx, input }) => ctx.session.update((data) => ({ ...data, marks: [...data.marks, input.mark] }))),
    revokeElevated: gh.protectedProcedure.mutation(({ ctx }) => ctx.session.update({ elevated: false })),
    rotate: gh.protectedProcedure.mutation(async ({ ctx }) => {
      await ctx.session.rotate();
      return { rotated: true };
    }),
    read: gh.protectedProcedure.query(({ ctx }) => ({ user: ctx.user, data: ctx.session.current.data })),
    slow: gh.protectedProcedure.input(z.object({ name: z.string(), then: afterRelease })).mutation(async ({ ctx, input }) => {
      const entry = parked.get(input.name)!;
      entry.entered.open();
      await entry.release.opened;
      if (input.then === 'mark') return ctx.session.update((data) => ({ ...data, marks: [...data.marks, `slow-${input.name}`] }));
      if (input.then === 'rotate') await ctx.session.rotate();
      return ctx.session.current?.data ?? null;
    }),
  });
  const clock = options.clock ?? new ManualClock();
  const gatehouse = await createGatehouse(gh, {
    keys: [TEST_KEY],
    store,
    clock,
    ...(options.idleTimeout ? { idleTimeout: options.idleTimeout } : {}),
    ...(options.absoluteTimeout ? { absoluteTimeout: options.absoluteTimeout } : {}),
    cookie: { secure: false },
    logger: createLogger('silent'),
    // Real argon2id at its cheapest: these tests are about interleavings, not hashing cost.
    hasher: await createPasswordHasher({ type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 } as never),
    throttle: { perAccount: 1000, perAddress: 100_000, registerPerAddress: 100_000 },
  });
  gatehouse.sweeper.stop();
  const app = new Koa();
  app.silent = true;
  app.use(gatehouse.session());
  app.use(gatehouse.trpc({ router }));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const directory = (gatehouse.services.accounts as unknown as BuiltInAccounts).directory;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    clock,
    gatehouse: gatehouse as never,
    hold(name) {
      const entry = { entered: latch(), release: latch() };
      parked.set(name, entry);
      return { entered: entry.entered.opened, release: entry.release.open };
    },
    async createUser(username, password, role = 'user') {
      const hasher = await createPasswordHasher({ type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 } as never);
      await directory.create(username, await hasher.hash(password), role);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gatehouse.close();
    },
  };
}
