import { type AnyProcedure, TRPCError, getTRPCErrorFromUnknown } from '@trpc/server';

/** What `procedure._def.middlewares` hold: tRPC's own calling convention (its `callRecursive`). */
interface MiddlewareResult {
  ok: boolean;
  data?: unknown;
  error?: TRPCError;
  marker: string;
}
type Middleware = (opts: MiddlewareOptions) => Promise<MiddlewareResult>;
interface NextOptions {
  ctx?: object;
  input?: unknown;
  getRawInput?: () => Promise<unknown>;
}
interface MiddlewareOptions {
  ctx: object;
  type: string;
  path: string;
  input: unknown;
  getRawInput: () => Promise<unknown>;
  meta: unknown;
  signal: AbortSignal | undefined;
  batchIndex: number;
  next(opts?: NextOptions): Promise<MiddlewareResult>;
}

/** tRPC's marker on a middleware's result (`middlewareMarker` in @trpc/server). */
const MIDDLEWARE_MARKER = 'middlewareMarker';

export interface CallOptions {
  ctx: object;
  type: 'query' | 'mutation' | 'subscription';
  path: string;
  getRawInput: () => Promise<unknown>;
}

/**
 * Calls a procedure exactly as tRPC's own procedure caller does — its
 * middlewares in order (input parsers, `.use()`, the output validator, the
 * resolver), each seeing `{ ctx, type, path, input, getRawInput, meta,
 * signal, batchIndex, next }`, `next({ ctx })` merging into a copy of the
 * context, a thrown error becoming the call's error — but building each
 * level's options as one object literal. tRPC builds them with its
 * transpiled object-spread helper, which defines each property one by one:
 * the largest single cost of an authenticated read on the memory store
 * (bench/PROFILE.md). `test/callProcedure.test.ts` holds the two to the
 * same options, results and errors.
 */
export async function callProcedure(procedure: AnyProcedure, opts: CallOptions): Promise<unknown> {
  const def = procedure._def as unknown as { middlewares: Middleware[]; meta: unknown };
  const result = await callFrom(def.middlewares, def.meta, 0, opts.ctx, undefined, opts.getRawInput, opts);
  if (!result) {
    throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'No result from middlewares - did you forget to `return next()`?' });
  }
  if (!result.ok) throw result.error;
  return result.data;
}

async function callFrom(
  middlewares: Middleware[],
  meta: unknown,
  index: number,
  ctx: object,
  input: unknown,
  getRawInput: () => Promise<unknown>,
  call: CallOptions,
): Promise<MiddlewareResult> {
  try {
    return await middlewares[index]!({
      ctx,
      type: call.type,
      path: call.path,
      input,
      getRawInput,
      meta,
      signal: undefined,
      batchIndex: 0,
      next(nextOpts) {
        return callFrom(
          middlewares,
          meta,
          index + 1,
          nextOpts?.ctx ? { ...ctx, ...nextOpts.ctx } : ctx,
          nextOpts && 'input' in nextOpts ? nextOpts.input : input,
          nextOpts?.getRawInput ?? getRawInput,
          call,
        );
      },
    });
  } catch (cause) {
    return { ok: false, error: getTRPCErrorFromUnknown(cause), marker: MIDDLEWARE_MARKER };
  }
}
