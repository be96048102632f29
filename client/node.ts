import type { AnyRouter } from '@trpc/server';
import makeFetchCookie from 'fetch-cookie';
import { CookieJar } from 'tough-cookie';
import { createGatehouseClient, type GatehouseClientOptions } from './index.js';

export * from './index.js';
export { CookieJar } from 'tough-cookie';
export { createBearerClient, type BearerClientOptions } from './bearer.js';
export { fileTokenStore, TokenFileError } from './fileTokenStore.js';
export { memoryTokenStore, type TokenName, type TokenStore } from './tokenStore.js';

/**
 * The typed client for Node, where `fetch` keeps no cookies: a
 * tough-cookie jar stores the session cookie like a browser would
 * (honouring Secure, HttpOnly, Path and expiry).
 *
 * @example
 * const { api, jar } = createNodeClient<AppRouter>({ url: 'http://127.0.0.1:3000' });
 */
export function createNodeClient<TRouter extends AnyRouter>(
  options: Omit<GatehouseClientOptions, 'fetch'> & { url: string; jar?: CookieJar },
) {
  const jar = options.jar ?? new CookieJar();
  const fetchWithJar = makeFetchCookie(fetch, jar) as typeof fetch;
  return { api: createGatehouseClient<TRouter>({ ...options, fetch: fetchWithJar }), jar };
}
