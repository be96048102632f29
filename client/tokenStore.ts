/**
 * What a bearer client keeps between requests: its session token, the login
 * throttle's known-device marker, and the "stay signed in" credential.
 */
export type TokenName = 'session' | 'device' | 'remember';

/**
 * Where a bearer client keeps its tokens: in memory (`memoryTokenStore`), a
 * file only its user can read (`fileTokenStore` from `koa-gatehouse/client/node`,
 * for CLIs), the platform's secure storage (Expo's SecureStore, the
 * Keychain, Android's Keystore) — never `localStorage` in a browser, which any
 * script of the page can read (browsers use the cookie).
 */
export interface TokenStore {
  get(name: TokenName): string | undefined | Promise<string | undefined>;
  set(name: TokenName, value: string): void | Promise<void>;
  delete(name: TokenName): void | Promise<void>;
}

/** Tokens in memory: gone when the process ends. */
export function memoryTokenStore(initial: Partial<Record<TokenName, string>> = {}): TokenStore {
  const held = new Map<TokenName, string>(Object.entries(initial) as [TokenName, string][]);
  return {
    get: (name) => held.get(name),
    set: (name, value) => void held.set(name, value),
    delete: (name) => void held.delete(name),
  };
}
