import type { IncomingMessage } from 'node:http';

/** The body, or why there is none to use: past the limit, or the client left before sending all of it. */
export type BodyRead = Buffer | 'too-large' | 'incomplete';

/** Reads the body up to `limit` bytes; stops reading and answers 'too-large' past it. */
export async function readBody(req: IncomingMessage, limit: number): Promise<BodyRead> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return 'too-large';
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        req.resume();
        return 'too-large';
      }
      chunks.push(chunk);
    }
  } catch (error) {
    // Node ends the read with `aborted` (ECONNRESET) when the connection closes mid-body: the client's doing.
    if (!req.complete) return 'incomplete';
    throw error;
  }
  return Buffer.concat(chunks, size);
}

/**
 * The body of a request whose stream a host's body parser has already read
 * (`@koa/bodyparser`, `koa-bodyparser`, `koa-body` mounted before
 * Gatehouse: DESIGN.md trap 11), as text, or `undefined` when the stream
 * is still unread. The parser's raw text when it kept it, else the parsed
 * value as JSON again (tRPC parses it once more either way).
 */
export function alreadyReadBody(req: IncomingMessage, request: { body?: unknown; rawBody?: unknown }): string | undefined {
  if (!req.readableEnded) return undefined;
  if (typeof request.rawBody === 'string') return request.rawBody;
  if (typeof request.body === 'string') return request.body;
  if (request.body === undefined || request.body === null) return '';
  return JSON.stringify(request.body);
}
