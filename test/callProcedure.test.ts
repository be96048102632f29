import { initTRPC, TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { callProcedure } from '../server/trpc/callProcedure.js';
import { singleCallProcedure } from '../server/trpc/singleCall.js';

/**
 * The fast path calls procedures with its own loop over `_def.middlewares`;
 * tRPC's caller is the reference. Every case runs both ways and compares
 * what middlewares saw, what came back and what was thrown.
 */
interface Ctx {
  seen: Record<string, unknown>[];
  who: string | null;
}
const t = initTRPC.context<Ctx>().create();

const recorded = t.middleware(({ ctx, next, ...rest }) => {
  const { type, path, input, meta, signal, batchIndex } = rest;
  ctx.seen.push({ type, path, input, meta, signal, batchIndex, hasRawInput: typeof rest.getRawInput, ctxKeys: Object.keys(ctx).sort() });
  return next();
});
const signedIn = t.procedure.use(recorded).use(({ ctx, next }) => {
  if (!ctx.who) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'sign in' });
  return next({ ctx: { who: ctx.who, extra: 42 } });
});

const router = t.router({
  plain: t.procedure.use(recorded).query(({ ctx }) => ({ who: ctx.who })),
  withInput: signedIn
    .meta({ tag: 'm' } as never)
    .input(z.object({ n: z.number().int() }))
    .use(recorded)
    .input(z.object({ extra: z.string().optional() }))
    .output(z.object({ doubled: z.number(), extra: z.string().optional(), fromCtx: z.number() }))
    .mutation(({ input, ctx }) => ({ doubled: input.n * 2, extra: input.extra, fromCtx: ctx.extra })),
  badOutput: t.procedure.output(z.object({ ok: z.literal(true) })).query(() => ({ ok: false }) as never),
  throwsPlain: t.procedure.query(() => {
    throw new Error('boom');
  }),
  noNext: t.procedure.use((() => undefined) as never).query(() => 'never'),
  replacesInput: t.procedure
    .use(({ next }) => next({ input: { replaced: true } }))
    .use(recorded)
    .query(({ input }) => input),
});
type Name = keyof typeof router._def.procedures;

async function both(name: Name, type: 'query' | 'mutation', rawInput: unknown, who: string | null) {
  const run = async (via: 'trpc' | 'ours') => {
    const ctx: Ctx = { seen: [], who };
    const procedure = router._def.procedures[name];
    const opts = { ctx, type, path: name, getRawInput: async () => rawInput };
    try {
      const data = via === 'trpc' ? await procedure({ ...opts, signal: undefined, batchIndex: 0 }) : await callProcedure(procedure, opts);
      return { data, seen: ctx.seen };
    } catch (error) {
      const e = error as TRPCError;
      return { error: { name: e.name, code: e.code, message: e.message, cause: e.cause?.message }, seen: ctx.seen };
    }
  };
  return { trpc: await run('trpc'), ours: await run('ours') };
}

describe('callProcedure calls a procedure as tRPC does', () => {
  it.each<[string, Name, 'query' | 'mutation', unknown, string | null]>([
    ['a plain query', 'plain', 'query', undefined, 'ann'],
    ['two input parsers, meta, a context narrowed by next({ ctx }), output validation', 'withInput', 'mutation', { n: 21, extra: 'x' }, 'ann'],
    ['an input that fails validation', 'withInput', 'mutation', { n: 1.5 }, 'ann'],
    ['a middleware that refuses (UNAUTHORIZED)', 'withInput', 'mutation', { n: 1 }, null],
    ['an output that fails validation (INTERNAL_SERVER_ERROR)', 'badOutput', 'query', undefined, null],
    ['a resolver that throws a plain Error', 'throwsPlain', 'query', undefined, null],
    ['a middleware that forgets next()', 'noNext', 'query', undefined, null],
    ['a middleware that replaces the input', 'replacesInput', 'query', { original: true }, null],
  ])('%s', async (_, name, type, input, who) => {
    const { trpc, ours } = await both(name, type, input, who);
    expect(ours).toEqual(trpc);
  });

  it('gives the same answers with the same shape the test compares (not vacuously equal)', async () => {
    const { ours } = await both('withInput', 'mutation', { n: 21, extra: 'x' }, 'ann');
    expect(ours.data).toEqual({ doubled: 42, extra: 'x', fromCtx: 42 });
    expect(ours.seen).toHaveLength(2);
    expect(ours.seen[1]).toMatchObject({ type: 'mutation', path: 'withInput', input: { n: 21 }, meta: { tag: 'm' }, batchIndex: 0, ctxKeys: ['extra', 'seen', 'who'] });
    const refused = await both('withInput', 'mutation', { n: 1 }, null);
    expect(refused.ours.error).toMatchObject({ code: 'UNAUTHORIZED', message: 'sign in' });
  });
});

describe('the fast path leaves to tRPC what it does not replicate', () => {
  it('a procedure with its own caller (.experimental_caller) is not taken: tRPC runs it, calling the override', () => {
    const calls: string[] = [];
    const withCaller = t.procedure
      .experimental_caller(async (opts) => {
        calls.push('override');
        return opts.invoke(opts.args[0] as never);
      })
      .query(() => 'ran');
    const r = t.router({ custom: withCaller as never as ReturnType<typeof t.procedure.query>, plain: t.procedure.query(() => 'plain') });
    expect(singleCallProcedure(r, 'custom', new URLSearchParams(), 'query')).toBeUndefined();
    expect(singleCallProcedure(r, 'plain', new URLSearchParams(), 'query')).toBe(r._def.procedures.plain);
    expect(calls).toEqual([]);
  });
});
