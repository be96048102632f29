// README, "Desktop shells": the client in Electron's main process (Node), not in the window. The tokens are sealed
// with the key the OS keychain holds (Electron's safeStorage) in a file only the user can read; the window gets
// results over IPC, never a token.
import { EventSource } from 'eventsource';
import type {} from 'koa-gatehouse/client/node-globals';
import { createBearerClient, fileTokenStore, type TokenStore } from 'koa-gatehouse/client/node';
import type { AppRouter } from '../src/router.js';

/** The part of Electron's `safeStorage` this uses (`import { safeStorage } from 'electron'`). */
export interface SafeStorage {
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

/** A token store whose values are sealed by `safeStorage` before they reach `inner`. */
export function sealedTokens(inner: TokenStore, safeStorage: SafeStorage): TokenStore {
  return {
    get: async (name) => {
      const sealed = await inner.get(name);
      return sealed === undefined ? undefined : safeStorage.decryptString(Buffer.from(sealed, 'base64'));
    },
    set: (name, value) => inner.set(name, safeStorage.encryptString(value).toString('base64')),
    delete: (name) => inner.delete(name),
  };
}

/** `app.getPath('userData')` for `userData`. */
export function desktopClient(userData: string, safeStorage: SafeStorage) {
  const tokens = sealedTokens(fileTokenStore(`${userData}/tokens.json`), safeStorage);
  return createBearerClient<AppRouter>({ url: 'https://shop.example.com', prefix: '/api/trpc', tokens, EventSource });
}
