import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';

/**
 * A streamed tRPC answer (JSON lines for `httpBatchStreamLink`, SSE for
 * subscriptions) as a Node stream for `ctx.body`, so Koa writes each
 * chunk as tRPC produces it and still owns the response (the session
 * cookie set after `await next()` goes out with the head).
 *
 * A client that leaves cancels the body (Koa destroys the stream), which
 * is how tRPC learns that it has gone: it aborts the procedures' signals
 * and stops their generators.
 */
export function streamedBody(body: ReadableStream<Uint8Array>): Readable {
  return Readable.fromWeb(body as NodeReadableStream<Uint8Array>);
}
