import { createTRPCClient, httpBatchLink, type TRPCClient } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
export * from '../shared/index.js';
export { TRPCClientError } from '@trpc/client';

/** fetch's parameters, named without the DOM lib (a Node project has none). */
type FetchInput = Parameters<typeof fetch>[0];
type FetchInit = Parameters<typeof fetch>[1];

export interface GatehouseClientOptions {
  /** The server's base URL, e.g. `https://api.example.com` (default: the page's own origin). */
  url?: string;
  /** Where the server mounts tRPC (`gatehouse.trpc({ prefix })`); default `/trpc`. */
  prefix?: string;
  /** A fetch that keeps cookies: the browser's own (default), or a cookie-jar fetch in Node. */
  fetch?: typeof fetch;
  /** Most calls sent in one batch; keep it at or below the server's limit (20). */
  maxItems?: number;
}

/**
 * A tRPC client typed by the server's router. Browser-safe: no Node-only
 * imports. Cookies ride along (`credentials: 'include'`, so a page on an
 * origin listed in the server's ALLOWED_ORIGINS works too).
 *
 * @example
 * import type { AppRouter } from '../server/router.js'; // your router's type: types only, no server code
 * const api = createGatehouseClient<AppRouter>({ url: 'http://127.0.0.1:3000' });
 * await api.auth.login.mutate({ username: 'alice', password: 'correct horse battery' });
 * const { message } = await api.data.query();
 */
export function createGatehouseClient<TRouter extends AnyRouter>(
  options: GatehouseClientOptions = {},
): TRPCClient<TRouter> {
  const base = (options.url ?? '').replace(/\/$/, '');
  const prefix = `/${(options.prefix ?? '/trpc').replace(/^\/+|\/+$/g, '')}`;
  const baseFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  return createTRPCClient<TRouter>({
    links: [
      httpBatchLink<TRouter>({
        url: `${base}${prefix}`,
        maxItems: options.maxItems ?? 20,
        fetch: (input: FetchInput, init?: FetchInit) => baseFetch(input, { ...init, credentials: 'include' }),
        // Gatehouse routers use no transformer (plain JSON on the wire).
      } as unknown as Parameters<typeof httpBatchLink<TRouter>>[0]),
    ],
  });
}
