import { createServer } from 'node:http';
import Koa from 'koa';
import { announce, benchUser, readAnswer, readJson } from './announce.js';

/** Koa 3 with no session: the framework's own cost. */
const user = benchUser('bench-user');
const app = new Koa();
app.use(async (ctx) => {
  if (ctx.path === '/login' && ctx.method === 'POST') {
    await readJson(ctx.req);
    ctx.body = { user };
  } else if (ctx.path === '/data') {
    ctx.body = readAnswer(user);
  }
});
await announce(createServer(app.callback()), { read: '/data', login: '/login' });
