/** undici keeps a `Response`'s state under this symbol; `body.source` is what it was built from. */
interface UndiciState {
  body?: { source?: unknown; stream?: ReadableStream } | null;
}

let stateSymbol: symbol | null | undefined;

function stateOf(response: Response): UndiciState | undefined {
  if (stateSymbol === undefined) {
    stateSymbol = Object.getOwnPropertySymbols(response).find((s) => s.description === 'state') ?? null;
  }
  if (stateSymbol === null) return undefined;
  const state = (response as unknown as Record<symbol, unknown>)[stateSymbol];
  return state && typeof state === 'object' ? (state as UndiciState) : undefined;
}

/**
 * The body of a `Response`, for `ctx.body`. tRPC builds its JSON answers
 * from a string; reading that back through the body stream
 * (`arrayBuffer()`) costs a stream pull, several promises and a copy per
 * request. When the response was built from a string, its stream is
 * untouched and it names its Content-Type, the string itself is returned:
 * Koa then sends the same bytes with the same headers, and Node writes
 * head and body in one `write` instead of a `writev` of two buffers.
 * Anything else (a stream body, no Content-Type, another runtime) is read
 * the standard way into a Buffer, as before.
 */
export async function responseBody(response: Response): Promise<string | Buffer> {
  const body = stateOf(response)?.body;
  if (body === null && response.body === null) return Buffer.alloc(0);
  if (
    body &&
    typeof body.source === 'string' &&
    !response.bodyUsed &&
    body.stream &&
    !body.stream.locked &&
    // Koa would otherwise pick text/plain for a string where a Buffer got application/octet-stream.
    response.headers.has('content-type')
  ) {
    return body.source;
  }
  return Buffer.from(await response.arrayBuffer());
}
