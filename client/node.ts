import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { AnyRouter } from '@trpc/server';
import makeFetchCookie from 'fetch-cookie';
import { CookieJar } from 'tough-cookie';
import { createGatehouseClient, type GatehouseClientOptions } from './index.js';
import type { TokenName, TokenStore } from './tokenStore.js';

export * from './index.js';
export { CookieJar } from 'tough-cookie';
export { createBearerClient, type BearerClientOptions } from './bearer.js';
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

/**
 * A bearer client's tokens in a JSON file only its user can read and write
 * (mode 0600, in a directory of mode 0700), written whole through a temporary
 * file and a rename, so a crash never leaves half a token: for CLIs. `~`
 * means the home directory.
 *
 * @example
 * const { api } = createBearerClient<AppRouter>({ url, tokens: fileTokenStore('~/.config/notes/session.json') });
 */
export function fileTokenStore(path: string): TokenStore {
  const file = resolve(path.replace(/^~(?=$|\/)/, homedir()));
  const read = (): Partial<Record<TokenName, string>> => {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      return typeof parsed === 'object' && parsed !== null ? (parsed as Partial<Record<TokenName, string>>) : {};
    } catch {
      return {};
    }
  };
  const write = (tokens: Partial<Record<TokenName, string>>) => {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(tokens), { mode: 0o600 });
    // A file that existed with looser permissions keeps them through a rename onto it: set them on the new one.
    chmodSync(temporary, 0o600);
    renameSync(temporary, file);
  };
  return {
    get: (name) => read()[name],
    set: (name, value) => write({ ...read(), [name]: value }),
    delete: (name) => {
      const { [name]: _gone, ...rest } = read();
      write(rest);
    },
  };
}
