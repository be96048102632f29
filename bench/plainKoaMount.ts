import type { AnyRouter } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import { resolveResponse } from '@trpc/server/http';
import type Koa from 'koa';

/**
 * The "plain" tRPC-on-Koa mount, as Gatehouse shipped it before issue 5:
 * a WHATWG `Request` with copied headers, `resolveResponse`, and the body
 * read back with `arrayBuffer()`. Kept here, unchanged in substance, as
 * the benchmark's "plain tRPC-on-Koa" peer; the server uses the fast one.
 */
export interface KoaMountOptions<TRouter extends AnyRouter> {
  router: TRouter;
  /** URL prefix, default `/trpc`. */
  prefix?: string;
  /** Largest request body in bytes (default 100 KiB); larger is 413. */
  maxBodySize?: number;
  /** Most calls in one batch (default 20); more is 400. */
  maxBatchSize?: number;
  createContext: (ctx: Koa.Context) => unknown;
}

const BODYLESS = new Set(['GET', 'HEAD']);

/**
 * Mounts a tRPC router in Koa through tRPC's fetch-style `resolveResponse`,
 * and copies the answer into the Koa context instead of letting tRPC write
 * `ctx.res` — so middleware that runs after `await next()` (koa-session
 * writing its cookie) still shapes the response. Every `Set-Cookie` is kept
 * separate and `Vary` is merged.
 */
export function plainKoaMount<TRouter extends AnyRouter>(options: KoaMountOptions<TRouter>): Koa.Middleware {
  const prefix = options.prefix ?? '/trpc';
  const maxBodySize = options.maxBodySize ?? 100 * 1024;
  const maxBatchSize = options.maxBatchSize ?? 20;
  const { router } = options;

  return async function trpcMount(ctx, next) {
    if (ctx.path !== prefix && !ctx.path.startsWith(`${prefix}/`)) return next();
    const path = ctx.path.slice(prefix.length + 1);

    let body: Buffer | undefined;
    let error: TRPCError | null = null;
    if (!BODYLESS.has(ctx.method)) {
      const read = await readBody(ctx.req, maxBodySize);
      if (read === 'too-large') {
        error = new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `Request body larger than ${maxBodySize} bytes.` });
      } else {
        body = read;
      }
    }

    const headers = new Headers();
    for (const [name, value] of Object.entries(ctx.req.headers)) {
      if (typeof value === 'string') headers.set(name, value);
      else if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    }
    const request = new Request(new URL(ctx.originalUrl, 'http://gatehouse.local'), {
      method: ctx.method,
      headers,
      body: body && body.length > 0 ? body.toString("utf8") : null,
    });

    const response = await resolveResponse({
      router,
      req: request,
      path,
      error,
      allowMethodOverride: false,
      allowBatching: true,
      maxBatchSize,
      createContext: async () => options.createContext(ctx) as never,
    });

    ctx.status = response.status;
    response.headers.forEach((value, name) => {
      if (name === 'set-cookie' || name === 'vary') return;
      ctx.set(name, value);
    });
    for (const cookie of response.headers.getSetCookie()) ctx.append('Set-Cookie', cookie);
    const vary = response.headers.get('vary');
    if (vary) for (const field of vary.split(',')) ctx.vary(field.trim());
    // Session-bearing answers must never be cached by a browser or a proxy.
    ctx.set('Cache-Control', 'no-store');
    ctx.body = Buffer.from(await response.arrayBuffer());
  };
}

/** Reads the body up to `limit` bytes; stops reading and answers 'too-large' past it. */
async function readBody(req: Koa.Request['req'], limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return 'too-large';
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      return 'too-large';
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
