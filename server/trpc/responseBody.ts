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
 * The body of a `Response` as a Buffer. tRPC builds its JSON answers from a
 * string; reading that back through the body stream (`arrayBuffer()`)
 * costs a stream pull, several promises and a copy per request. When the
 * response was built from a string and its stream is untouched, take the
 * string; otherwise (a stream body, another runtime) read it the standard
 * way. The result is the same bytes either way.
 */
export async function responseBody(response: Response): Promise<Buffer> {
  const body = stateOf(response)?.body;
  if (body === null && response.body === null) return Buffer.alloc(0);
  if (body && typeof body.source === 'string' && !response.bodyUsed && body.stream && !body.stream.locked) {
    return Buffer.from(body.source, 'utf8');
  }
  return Buffer.from(await response.arrayBuffer());
}
