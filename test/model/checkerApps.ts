import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import argon2 from 'argon2';
import Koa from 'koa';
import { pino } from 'pino';
import { z } from 'zod';
import { type BuiltInAccounts, createGatehouse, createPasswordHasher, type Gatehouse, initGatehouse, type KeyValueStore } from '../../server/index.js';
import { shared } from '../helpers/backendServer.js';
import { ManualClock } from '../helpers/clock.js';
import { TEST_KEY } from '../helpers/server.js';
import { currentOperation, type StoreGate } from './storeGate.js';

/** The checker's sessions: the built-in user, and data an update appends to (so a lost update shows). */
export const checkerGatehouse = initGatehouse({
  sessionData: z.object({ marks: z.array(z.string()).max(200).default([]) }),
});
const gh = checkerGatehouse;

/** Gatehouse's own routes and three of a team's: an update, a rotation, a read. */
export const checkerRouter = gh.router({
  ...gh.routes,
  mark: gh.protectedProcedure.input(z.object({ mark: z.string() })).mutation(async ({ ctx, input }) => {
    const data = await ctx.session.update((current) => ({ marks: [...current.marks, input.mark] }));
    return { marks: data.marks };
  }),
  rotate: gh.protectedProcedure.mutation(async ({ ctx }) => {
    await ctx.session.rotate();
    return { rotated: true };
  }),
  read: gh.protectedProcedure.query(({ ctx }) => ({ user: ctx.user, marks: ctx.session.current.data.marks })),
});

export const IDLE_MS = 30 * 60_000;
export const CAP = 3;

/** One Gatehouse of the checker, serving over real HTTP. */
export interface CheckerInstance {
  readonly name: string;
  readonly url: string;
  readonly gatehouse: Gatehouse<{ id: string; username: string; role: 'user' | 'admin' }, { marks: string[] }, { marks?: string[] | undefined }>;
}

export interface CheckerApps {
  readonly instances: readonly [CheckerInstance, CheckerInstance];
  readonly clock: ManualClock;
  /** Whether `password` is the one the built-in directory holds for `userId` (disabled or not). */
  passwordIs(userId: string, password: string): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Two Gatehouse instances (two Koa apps, each with its own store
 * connection where the backend has connections) over one backend, each
 * store call gated by `gate`. A request's header `x-model-op` names the
 * checker operation it belongs to.
 */
export async function startCheckerApps(stores: readonly [KeyValueStore, KeyValueStore], gate: StoreGate): Promise<CheckerApps> {
  const clock = new ManualClock();
  // Real argon2id, with the cheapest parameters: the checker is about interleavings, not hashing cost.
  const hasher = await createPasswordHasher({ type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 } as never);
  const started: { instance: CheckerInstance; server: Server }[] = [];
  for (const [index, store] of stores.entries()) {
    const name = index === 0 ? 'A' : 'B';
    const gatehouse = await createGatehouse(gh, {
      keys: [TEST_KEY],
      // The stores are the caller's: closing an instance leaves them open for the next run.
      store: gate.wrap(shared(store), name),
      clock,
      hasher,
      logger: pino({ level: 'silent' }),
      cookie: { secure: false },
      idleTimeout: IDLE_MS,
      absoluteTimeout: 12 * 3_600_000,
      maxSessionsPerUser: CAP,
      freshLoginWindow: 24 * 3_600_000,
      throttle: { perAccount: 1000, perAddress: 100_000, registerPerAddress: 100_000 },
    });
    // The sweeper's timer would run store calls outside any operation: sweeps are operations of their own here.
    gatehouse.sweeper.stop();
    const app = new Koa();
    app.silent = true;
    app.use((ctx, next) => {
      const op = Number(ctx.get('x-model-op'));
      return Number.isInteger(op) && op > 0 ? currentOperation.run(op, next) : next();
    });
    app.use(gatehouse.session());
    app.use(gatehouse.trpc({ router: checkerRouter }));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    started.push({ instance: { name, url: `http://127.0.0.1:${port}`, gatehouse: gatehouse as never }, server });
  }
  const directory = (started[0]!.instance.gatehouse.services.accounts as unknown as BuiltInAccounts).directory;
  return {
    instances: [started[0]!.instance, started[1]!.instance],
    clock,
    async passwordIs(userId, password) {
      const record = await directory.findById(userId);
      return record !== undefined && (await hasher.verify(record.passwordHash, password));
    },
    async close() {
      for (const { instance, server } of started) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await instance.gatehouse.close();
      }
    },
  };
}
