import { createServer } from 'node:http';
import Koa from 'koa';
import session from 'koa-session';
import { Keyv } from 'keyv';
import { announce, benchUser, readAnswer, readJson, usernameOf } from './announce.js';

/** koa-session 7 with its defaults (signed cookie) over a Keyv memory store, on a plain Koa route. */
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
app.use(async (ctx) => {
  if (ctx.path === '/login' && ctx.method === 'POST') {
    const user = benchUser(usernameOf(await readJson(ctx.req)));
    ctx.session!.user = user;
    ctx.body = { user };
  } else if (ctx.path === '/data') {
    const user = ctx.session?.user as ReturnType<typeof benchUser> | undefined;
    if (!user) {
      ctx.status = 401;
      return;
    }
    ctx.body = readAnswer(user);
  }
});
await announce(createServer(app.callback()), { read: '/data', login: '/login' });
