import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { initTRPC, TRPCError } from '@trpc/server';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { plainKoaMount } from '../bench/plainKoaMount.js';
import { createLogger } from '../server/logger.js';
import type { GatehouseContext } from '../server/trpc/context.js';
import { koaTrpcMount } from '../server/trpc/koaMount.js';

/*
 * The fast mount (NodeRequest, string body) must answer exactly as the
 * plain fetch-adapter mount does: same status, headers and bytes, for
 * queries, batches, mutations, errors, limits and cookies.
 */
interface Ctx {
  koa: Koa.Context;
}
const t = initTRPC.context<Ctx>().create({ isDev: false });
const testRouter = t.router({
  hello: t.procedure.input(z.object({ name: z.string() }).optional()).query(({ input }) => ({ hello: input?.name ?? 'world' })),
  boom: t.procedure.query(() => {
    throw new Error('secret internals');
  }),
  denied: t.procedure.query(() => {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'no' });
  }),
  setCookies: t.procedure.mutation(({ ctx }) => {
    ctx.koa.cookies.set('a', '1', { httpOnly: true });
    ctx.koa.cookies.set('b', '2', { httpOnly: true });
    return { ok: true };
  }),
  echo: t.procedure.input(z.object({ text: z.string() })).mutation(({ input }) => input),
  noInput: t.procedure.mutation(() => 'done'),
  throttled: t.procedure.query(() => {
    throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: 'slow down', cause: Object.assign(new Error('x'), { retryAfterSeconds: 42 }) });
  }),
  nested: t.router({
    deep: t.procedure.query(() => ['a', { b: null }]),
    save: t.procedure.input(z.object({ n: z.number() })).mutation(({ input }) => ({ saved: input.n })),
  }),
  explode: t.procedure.mutation(() => {
    throw new Error('secret internals');
  }),
  refuse: t.procedure.mutation(() => {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'no' });
  }),
  nothing: t.procedure.mutation(() => undefined),
  // Two input parsers: both see the same raw input (parsed once).
  chained: t.procedure
    .input(z.object({ a: z.string() }))
    .input(z.object({ b: z.number() }))
    .mutation(({ input }) => input),
});

async function listen(mount: Koa.Middleware): Promise<{ url: string; server: Server }> {
  const app = new Koa();
  app.silent = true;
  app.use(mount);
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const logger = createLogger('silent');
let fast: { url: string; server: Server };
let plain: { url: string; server: Server };

beforeAll(async () => {
  const createContext = (koa: Koa.Context) => ({ koa });
  fast = await listen(
    koaTrpcMount({ router: testRouter, createContext: createContext as unknown as (k: Koa.Context) => GatehouseContext, logger, maxBodySize: 1024, maxBatchSize: 3 }),
  );
  plain = await listen(plainKoaMount({ router: testRouter, createContext, maxBodySize: 1024, maxBatchSize: 3 }));
});

afterAll(() => {
  fast.server.close();
  plain.server.close();
});

async function answer(base: string, path: string, init: RequestInit = {}) {
  const response = await fetch(`${base}${path}`, init);
  const headers = [...response.headers].filter(([name]) => name !== 'date' && name !== 'keep-alive' && name !== 'connection');
  return { status: response.status, headers, cookies: response.headers.getSetCookie(), body: await response.text() };
}

const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const form = new FormData();
form.set('text', 'x');

const cases: [string, string, RequestInit?][] = [
  ['a query without input', '/trpc/hello'],
  ['a query with input', `/trpc/hello?input=${encodeURIComponent(JSON.stringify({ name: 'ada' }))}`],
  ['a batch of queries', `/trpc/hello,hello?batch=1&input=${encodeURIComponent(JSON.stringify({ 1: { name: 'bob' } }))}`],
  ['a batch with a failing call', '/trpc/hello,denied?batch=1&input={}'],
  ['a batch over maxBatchSize', '/trpc/hello,hello,hello,hello?batch=1&input={}'],
  ['an unknown procedure', '/trpc/nope'],
  ['a query that throws', '/trpc/boom'],
  ['a query with invalid input', `/trpc/hello?input=${encodeURIComponent(JSON.stringify({ name: 5 }))}`],
  ['a query with malformed JSON input', '/trpc/hello?input=%7Bnot-json'],
  ['a mutation sent as GET', '/trpc/echo'],
  ['a query sent as POST', '/trpc/hello', json({})],
  ['a mutation with a JSON body', '/trpc/echo', json({ text: 'héllo' })],
  ['a mutation with an empty body', '/trpc/noInput', { method: 'POST', headers: { 'content-type': 'application/json' } }],
  ['a mutation with malformed JSON', '/trpc/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' }],
  ['a body over the limit', '/trpc/echo', json({ text: 'x'.repeat(2000) })],
  ['a batched mutation', '/trpc/echo,noInput?batch=1', json({ 0: { text: 'a' } })],
  ['a multipart form mutation', '/trpc/echo', { method: 'POST', body: form }],
  ['a text/plain mutation', '/trpc/echo', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"text":"x"}' }],
  ['a mutation that sets two cookies', '/trpc/setCookies', json(null)],
  ['a HEAD request', '/trpc/hello', { method: 'HEAD' }],
  ['a query in a nested router', '/trpc/nested.deep'],
  ['a query with a percent-encoded path', '/trpc/hel%6Co'],
  ['a query with an empty input parameter', '/trpc/hello?input='],
  ['a query with input null', '/trpc/hello?input=null'],
  ['a query asking for a stream without batching', '/trpc/hello', { headers: { 'trpc-accept': 'application/jsonl' } }],
  ['a query with an extra unknown parameter', '/trpc/hello?foo=bar'],
  ['a query accepting JSON lines among other types', '/trpc/hello', { headers: { accept: 'application/json, application/jsonl' } }],
  ['a query with malformed connection params', '/trpc/hello?connectionParams=%7Bbad'],
  ['a query with a non-JSON content type', '/trpc/hello', { headers: { 'content-type': 'application/octet-stream' } }],
  ['a mutation with invalid input', '/trpc/echo', json({ text: 5 })],
  ['a mutation with input null', '/trpc/echo', json(null)],
  ['a mutation with a JSON array body', '/trpc/echo', json([1, 2])],
  ['a mutation that throws', '/trpc/explode', json({})],
  ['a mutation refused with UNAUTHORIZED', '/trpc/refuse', json({})],
  ['a mutation with a charset in its content type', '/trpc/echo', { method: 'POST', headers: { 'content-type': 'Application/JSON; charset=utf-8' }, body: '{"text":"x"}' }],
  ['a mutation without a content type', '/trpc/echo', { method: 'POST', body: '{"text":"x"}' }],
  ['a mutation with an input query parameter', `/trpc/echo?input=${encodeURIComponent('{"text":"q"}')}`, json({ text: 'b' })],
  ['a mutation at an unknown path', '/trpc/nope', json({})],
  ['a mutation in a nested router', '/trpc/nested.save', json({ n: 1 })],
  ['a mutation whose output is undefined', '/trpc/nothing', json({})],
  ['a mutation with two chained input parsers', '/trpc/chained', json({ a: 'x', b: 1 })],
  ['a mutation failing the second of two input parsers', '/trpc/chained', json({ a: 'x' })],
];

describe('the fast tRPC mount answers exactly as the plain fetch-adapter mount', () => {
  it.each(cases)('for %s', async (_name, path, init) => {
    const [mine, theirs] = await Promise.all([answer(fast.url, path, init), answer(plain.url, path, init)]);
    expect(mine).toEqual(theirs);
  });
});

describe('a throttled query', () => {
  it('answers like the plain mount and adds Retry-After from the error', async () => {
    const [mine, theirs] = await Promise.all([answer(fast.url, '/trpc/throttled'), answer(plain.url, '/trpc/throttled')]);
    expect(mine.status).toBe(429);
    expect(mine.body).toBe(theirs.body);
    expect(mine.headers).toEqual([...theirs.headers, ['retry-after', '42']].sort(([a], [b]) => a!.localeCompare(b!)));
  });
});
