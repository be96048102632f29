import type { AnyRouter } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import { resolveResponse } from '@trpc/server/http';
import type Koa from 'koa';
import type { Logger } from 'pino';
import { logOf } from '../http/requestId.js';
import { sendError } from '../http/errorResponse.js';
import type { GatehouseContext } from './context.js';
import { isStoreUnavailable, isStoreUnconfirmed } from '../store/storeErrors.js';
import { rememberRequestId } from './errorRequestIds.js';
import { retryAfterSecondsOf } from './retryAfter.js';
import { NodeRequest } from './nodeRequest.js';
import { alreadyReadBody, readBody } from './requestBody.js';
import { runSingleCall, type SingleCallType, singleCallProcedure } from './singleCall.js';
import { quietWhenClientLeaves, streamedBody } from './streamedBody.js';

export interface KoaMountOptions<TRouter extends AnyRouter> {
  router: TRouter;
  /** URL prefix, default `/trpc`. */
  prefix?: string;
  /** Largest request body in bytes (default 100 KiB); larger is 413. */
  maxBodySize?: number;
  /** Most calls in one batch (default 20); more is 400. */
  maxBatchSize?: number;
  createContext: (ctx: Koa.Context) => GatehouseContext | Promise<GatehouseContext>;
  logger: Logger;
  /**
   * A signal that ends this request's streamed answer (JSON lines or SSE)
   * when it aborts, e.g. when its session is logged out or revoked.
   * Asked once per streamed answer, when it starts; `undefined` (the
   * default) lets the stream run until it ends or the client leaves.
   *
   * @example
   * koaTrpcMount({ ..., streamSignal: (ctx) => sessionEndOf(ctx) })
   */
  streamSignal?: (ctx: Koa.Context) => AbortSignal | undefined;
}

const BODYLESS = new Set(['GET', 'HEAD']);
/** What tRPC's answer depends on besides the URL (one `vary` call: each one parses the header again). */
const VARY_FIELDS = ['trpc-accept', 'accept'];
/** tRPC wants an absolute URL; only its query string matters (the path is passed separately). */
const URL_BASE = 'http://gatehouse.local';
/** What the prefix answers to; `OPTIONS` itself is answered here (tRPC would call it a 415). */
const ALLOWED_METHODS = 'GET, POST, OPTIONS';
/** Hop-by-hop fields tRPC sets on streams: Node frames the answer itself (chunked only where HTTP/1.1 allows it). */
const HOP_BY_HOP = new Set(['transfer-encoding', 'connection']);

/**
 * Mounts a tRPC router in Koa through tRPC's fetch-style `resolveResponse`,
 * and copies the answer into the Koa context instead of letting tRPC write
 * `ctx.res` — so middleware that runs after `await next()` (koa-session
 * writing its cookie) still shapes the response. Every `Set-Cookie` is kept
 * separate and `Vary` is merged.
 *
 * Streams stay streams (DESIGN.md trap 14): a JSON-lines batch of queries
 * (`httpBatchStreamLink`) and an SSE subscription (`httpSubscriptionLink`)
 * reach the client chunk by chunk through a Node stream in `ctx.body`. A
 * batch of mutations asked for as a stream is answered whole (still JSON
 * lines): a login or logout in it must finish before the head, with its
 * cookie, is written.
 *
 * Speed (issue 5): a plain single call skips `resolveResponse` (see
 * `singleCall.ts`); the rest gets a `NodeRequest` over Node's parsed
 * headers instead of a WHATWG `Request`.
 */
export function koaTrpcMount<TRouter extends AnyRouter>(options: KoaMountOptions<TRouter>): Koa.Middleware {
  const prefix = options.prefix ?? '/trpc';
  const maxBodySize = options.maxBodySize ?? 100 * 1024;
  const maxBatchSize = options.maxBatchSize ?? 20;
  const { router, logger, streamSignal } = options;

  return async function trpcMount(ctx, next) {
    if (ctx.path !== prefix && !ctx.path.startsWith(`${prefix}/`)) return next();
    if (ctx.method === 'OPTIONS') {
      // Not a CORS preflight (that is answered before the mount): say what the prefix takes.
      ctx.status = 204;
      ctx.set('Allow', ALLOWED_METHODS);
      ctx.set('Cache-Control', 'no-store');
      return;
    }
    const path = ctx.path.slice(prefix.length + 1);

    let body: string | null = null;
    let error: TRPCError | null = null;
    if (!BODYLESS.has(ctx.method)) {
      const parsed = alreadyReadBody(ctx.req, ctx.request as { body?: unknown; rawBody?: unknown });
      const read = parsed === undefined ? await readBody(ctx.req, maxBodySize) : Buffer.byteLength(parsed) > maxBodySize ? 'too-large' : Buffer.from(parsed);
      if (read === 'incomplete') {
        // A client that hangs up mid-body is no server fault: no stack, no error-level noise.
        logOf(ctx, logger).info({ event: 'request.incomplete', path: ctx.path }, 'client closed the connection before sending the whole body');
        sendError(ctx, 'BAD_REQUEST', 'The request body ended before its declared length.');
        return;
      }
      if (read === 'too-large') {
        error = new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `Request body larger than ${maxBodySize} bytes.` });
      } else if (read.length > 0) {
        body = read.toString('utf8');
      }
    }
    const type: SingleCallType | undefined = error ? undefined : ctx.method === 'GET' ? 'query' : ctx.method === 'POST' ? 'mutation' : undefined;
    if (type) {
      const search = new URLSearchParams(ctx.querystring);
      const procedure = isPlainRequest(ctx, type) ? singleCallProcedure(router, path, search, type) : undefined;
      if (procedure) {
        const trpcContext = await options.createContext(ctx);
        const input = type === 'query' ? search.get('input') : body;
        const answer = await runSingleCall(router, procedure, type, path, input, trpcContext, (failure) =>
          logFailure(trpcContext?.log ?? logOf(ctx, logger), failure, path),
        );
        ctx.status = answer.status;
        ctx.vary(VARY_FIELDS);
        ctx.set('content-type', 'application/json');
        const failures = answer.error ? [answer.error] : [];
        const retryAfter = retryAfterSecondsOf(failures);
        if (retryAfter !== undefined) ctx.set('Retry-After', String(retryAfter));
        if (failures.some(isStoreOutage)) dropSessionChanges(ctx);
        ctx.set('Cache-Control', 'no-store');
        ctx.body = answer.body;
        return;
      }
    }
    const request = new NodeRequest(ctx.method, URL_BASE + ctx.originalUrl, ctx.req.headers, body, ctx.res);
    const requestId = ctx.state['requestId'] as string | undefined;

    let trpcContext: GatehouseContext | undefined;
    const failures: TRPCError[] = [];
    const response = await resolveResponse({
      router,
      req: request as unknown as Request,
      path,
      error,
      allowMethodOverride: false,
      allowBatching: true,
      maxBatchSize,
      createContext: async () => {
        trpcContext = await options.createContext(ctx);
        return trpcContext;
      },
      onError({ error: failure, path: failedPath, ctx: failedContext }) {
        // Before the context exists the formatter has no request id but this one (errorRequestIds.ts).
        if (!failedContext && requestId) rememberRequestId(failure, requestId);
        failures.push(failure);
        logFailure(trpcContext?.log ?? logOf(ctx, logger), failure, failedPath);
      },
    });

    const stream = ctx.method === 'GET' && isStream(response) ? response.body : null;
    // Complete answers, and a mutation batch's stream, are read to their end first (see above).
    const answer = stream ? streamedBody(stream, streamSignal?.(ctx)) : await completeBody(response);
    if (stream) quietWhenClientLeaves(ctx);
    copyHead(ctx, response, failures);
    // Session-bearing answers must never be cached by a browser or a proxy; one that transforms
    // (compresses) a stream would also hold it back.
    ctx.set('Cache-Control', stream ? 'no-store, no-transform' : 'no-store');
    ctx.body = answer;
  };
}

/** tRPC streams an SSE subscription and a JSON-lines batch; it marks the latter chunked. */
function isStream(response: Response): boolean {
  return response.headers.get('content-type') === 'text/event-stream' || response.headers.get('transfer-encoding') === 'chunked';
}

async function completeBody(response: Response): Promise<string | Buffer> {
  const text = await response.text();
  // Koa would pick text/plain for a string where tRPC named no type (HEAD's empty 204).
  return response.headers.has('content-type') ? text : Buffer.from(text);
}

/** Status and headers of tRPC's answer into Koa's, with what the failures `onError` saw call for. */
function copyHead(ctx: Koa.Context, response: Response, failures: readonly TRPCError[]): void {
  ctx.status = response.status;
  let cookies = false;
  let vary: string | undefined;
  response.headers.forEach((value, name) => {
    if (name === 'set-cookie') cookies = true;
    else if (name === 'vary') vary = value;
    else if (!HOP_BY_HOP.has(name)) ctx.set(name, value);
  });
  if (cookies) for (const cookie of response.headers.getSetCookie()) ctx.append('Set-Cookie', cookie);
  // 429 answers tell clients when to come back (the formatter puts the same number in error.data).
  const retryAfter = retryAfterSecondsOf(failures);
  if (retryAfter !== undefined) ctx.set('Retry-After', String(retryAfter));
  if (failures.some(isStoreOutage)) dropSessionChanges(ctx);
  if (vary) for (const field of vary.split(',')) ctx.vary(field.trim());
}

/**
 * The fast path takes only what tRPC would answer as a plain single call:
 * no stream accept (tRPC splits the Accept list), no connection params, a
 * JSON body type (a mutation must name it; a query may leave it out).
 * Anything else goes to resolveResponse.
 */
function isPlainRequest(ctx: Koa.Context, call: SingleCallType): boolean {
  // Node's parsed headers (lower-case names) directly: Koa's ctx.get goes through two delegations per field.
  const headers = ctx.req.headers;
  if (headers['trpc-accept'] || ctx.querystring.includes('connectionParams')) return false;
  const accept = headers.accept;
  if (accept !== undefined && accept.split(',').some((type) => type.trim().toLowerCase() === 'application/jsonl')) return false;
  const type = headers['content-type'] ?? '';
  if (type === '') return call === 'query';
  return (type.split(';', 1)[0] ?? '').trim().toLowerCase() === 'application/json';
}

/** Unexpected failures at error level; store outages at warn (they answer 503, the cause stays in the log). */
function logFailure(log: Logger, failure: TRPCError, path: string | undefined): void {
  if (failure.code === 'INTERNAL_SERVER_ERROR') log.error({ err: failure.cause ?? failure, path }, 'procedure failed');
  else if (isStoreUnavailable(failure)) log.warn({ err: failure.cause ?? failure, operation: failure.operation, path }, 'store unavailable');
}

/**
 * A store that failed or missed its deadline; not one that made a durable
 * write but could not confirm its replicas have it (StoreUnconfirmedError):
 * that write happened, so a logout's cleared cookie stays.
 */
const isStoreOutage = (failure: unknown) => isStoreUnavailable(failure) && !isStoreUnconfirmed(failure);

/**
 * A request that met a store failure reports failure, so it must not hand
 * out or clear a session either: a login whose later steps failed would
 * otherwise answer 503 with a working cookie.
 */
function dropSessionChanges(ctx: Koa.Context): void {
  ctx.res.removeHeader('Set-Cookie');
  ctx.res.removeHeader('Clear-Site-Data');
}
