import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type Koa from 'koa';

/**
 * A streamed tRPC answer (JSON lines for `httpBatchStreamLink`, SSE for
 * subscriptions) as a Node stream for `ctx.body`, so Koa writes each
 * chunk as tRPC produces it and still owns the response (the session
 * cookie set after `await next()` goes out with the head).
 *
 * When `end` aborts, the answer ends there: the body is cancelled, which
 * is how tRPC learns that the client has gone, so it aborts the
 * procedures' signals and stops their generators. A client that leaves
 * cancels it the same way (Koa destroys the body stream).
 */
export function streamedBody(body: ReadableStream<Uint8Array>, end: AbortSignal | undefined): Readable {
  return Readable.fromWeb((end ? endingOn(body, end) : body) as NodeReadableStream<Uint8Array>);
}

/**
 * A client that leaves a stream (closes the tab, unsubscribes) is no
 * server fault, but Koa's pipeline reports Node's "premature close" to
 * the app, and Koa's default error handler prints it with a stack. For
 * this response only, that error is marked `expose`: the default handler
 * stays quiet, and a host's own 'error' listener still sees it, code and
 * all.
 */
export function quietWhenClientLeaves(ctx: Koa.Context): void {
  const report = ctx.onerror.bind(ctx);
  ctx.onerror = (error) => {
    if ((error as { code?: unknown } | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE') (error as { expose?: boolean }).expose = true;
    report(error);
  };
}

function endingOn(body: ReadableStream<Uint8Array>, end: AbortSignal): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  // Cancelling settles a pending read as done, so the stream below closes cleanly: the client sees the answer end.
  const stop = () => void reader.cancel(end.reason).catch(() => undefined);
  const release = () => end.removeEventListener('abort', stop);
  return new ReadableStream<Uint8Array>({
    start() {
      if (end.aborted) stop();
      else end.addEventListener('abort', stop, { once: true });
    },
    async pull(controller) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        release();
        throw error;
      }
      if (chunk.done) {
        release();
        controller.close();
      } else {
        controller.enqueue(chunk.value);
      }
    },
    cancel(reason) {
      release();
      return reader.cancel(reason);
    },
  });
}
