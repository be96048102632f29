import { performance } from 'node:perf_hooks';

/** What a client saw: an HTTP status, or no answer at all. */
export type Outcome = number | 'neterr' | 'timeout';

export interface Answer {
  outcome: Outcome;
  /** Milliseconds from sending to the full answer (or the failure). */
  ms: number;
  json: unknown;
  /** The `sid` value a `Set-Cookie` carried: a new cookie, `''` for a cleared one, undefined for none. */
  sid: string | undefined;
}

/** A client gives up on one request after this long (a frozen Gatehouse process): its outcome is then unknown. */
const CLIENT_TIMEOUT_MS = 15_000;

/**
 * One tRPC call over plain fetch with a cookie header, as any HTTP client
 * would make it (no typed client: the soak must not break when the API
 * grows). A query is a GET, a mutation a JSON POST.
 */
export async function call(server: string, procedure: string, options: { cookie?: string; input?: unknown; mutation?: boolean } = {}): Promise<Answer> {
  const started = performance.now();
  const headers: Record<string, string> = {};
  if (options.cookie) headers.cookie = options.cookie;
  let url = `${server}/trpc/${procedure}`;
  let body: string | undefined;
  if (options.mutation) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.input ?? {});
  } else if (options.input !== undefined) {
    url += `?input=${encodeURIComponent(JSON.stringify(options.input))}`;
  }
  try {
    const res = await fetch(url, { method: options.mutation ? 'POST' : 'GET', headers, body, signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { outcome: res.status, ms: performance.now() - started, json, sid: sidOf(res.headers.getSetCookie()) };
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    return { outcome: timedOut ? 'timeout' : 'neterr', ms: performance.now() - started, json: undefined, sid: undefined };
  }
}

function sidOf(setCookies: string[]): string | undefined {
  const line = setCookies.find((c) => c.startsWith('sid='));
  if (line === undefined) return undefined;
  return line.slice('sid='.length, line.indexOf(';') === -1 ? undefined : line.indexOf(';'));
}

/** `data` of a tRPC success body. */
export const resultOf = (json: unknown): unknown => (json as { result?: { data?: unknown } } | undefined)?.result?.data;
