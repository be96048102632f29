import { createServer } from 'node:http';
import { initTRPC, TRPCError } from '@trpc/server';
import Koa from 'koa';
import session from 'koa-session';
import { Keyv } from 'keyv';
import { z } from 'zod';
import { plainKoaMount } from '../plainKoaMount.js';
import { announce, benchUser, readAnswer } from './announce.js';

/** Koa + koa-session (Keyv memory) + tRPC through the plain fetch-adapter mount. */
type BenchUser = ReturnType<typeof benchUser>;
interface Ctx {
  koa: Koa.Context;
}
const t = initTRPC.context<Ctx>().create();
const benchRouter = t.router({
  data: t.procedure.query(({ ctx }) => {
    const user = ctx.koa.session?.user as BenchUser | undefined;
    if (!user) throw new TRPCError({ code: 'UNAUTHORIZED' });
    return readAnswer(user);
  }),
  bench: t.router({
    login: t.procedure.input(z.object({ username: z.string().min(1) })).mutation(({ ctx, input }) => {
      const user = benchUser(input.username);
      ctx.koa.session!.user = user;
      return { user };
    }),
  }),
});

const keyv = new Keyv<Record<string, unknown>>();
const app = new Koa();
app.keys = ['bench-key-0123456789-abcdefghijklmnopqrstuvwxyz'];
app.use(
  session(
    {
      store: {
        get: (key: string) => keyv.get(key),
        set: async (key: string, value: Record<string, unknown>, maxAge: number) => {
          await keyv.set(key, value, typeof maxAge === 'number' ? maxAge : undefined);
        },
        destroy: async (key: string) => {
          await keyv.delete(key);
        },
      },
    } as Parameters<typeof session>[0],
    app,
  ),
);
app.use(plainKoaMount({ router: benchRouter, createContext: (koa) => ({ koa }) }));
await announce(createServer(app.callback()), { read: '/trpc/data', login: '/trpc/bench.login' });
