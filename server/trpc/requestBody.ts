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
