// README, "React Native and Expo": the shop's app. CI compiles it (against snippets/reactNative.d.ts, stand-ins for
// the two packages) but runs the Node path only: no React Native runtime runs here.
import * as SecureStore from 'expo-secure-store';
import EventSource from 'react-native-sse';
import { createBearerClient, type TokenStore } from 'koa-gatehouse/client/bearer';
import type { AppRouter } from '../src/router.js';

/** The tokens in the iOS Keychain or the Android Keystore (never AsyncStorage, a plain file), kept off backups. */
const options = { keychainAccessible: SecureStore.AFTER_FIRST_UNLOCK_THIS_DEVICE_ONLY };
export const secureTokens: TokenStore = {
  get: async (name) => (await SecureStore.getItemAsync(`gatehouse.${name}`, options)) ?? undefined,
  set: (name, value) => SecureStore.setItemAsync(`gatehouse.${name}`, value, options),
  delete: (name) => SecureStore.deleteItemAsync(`gatehouse.${name}`, options),
};

export const { api } = createBearerClient<AppRouter>({
  url: 'https://shop.example.com',
  prefix: '/api/trpc',
  tokens: secureTokens,
  // React Native's fetch cannot stream a response: react-native-sse reads the stream over XHR, with headers.
  EventSource,
  eventSourceOptions: (headers) => ({ headers }),
});

/**
 * Live order updates. react-native-sse has no `readyState`, so tRPC reads each of its errors (a 401 included) as
 * a reconnect in progress: a failure arrives in `onConnectionStateChange`, not `onError`. And it reconnects by
 * itself with the headers it was created with: after a rotation, the old token. So on an error, ask the server:
 * signed out ends the subscription; still signed in subscribes again, with the token held now.
 */
export function watchOrders(onUpdate: (message: string) => void, onSignedOut: () => void): () => void {
  let subscription = subscribe();
  let checking = false;
  function subscribe() {
    return api.orderUpdates.subscribe(undefined, {
      onData: (update) => onUpdate(update.message),
      onConnectionStateChange: (state) => {
        if (state.state === 'connecting' && state.error && !checking) void recheck();
      },
      onError: () => void recheck(),
    });
  }
  async function recheck() {
    checking = true;
    const me = await api.auth.me.query().catch(() => undefined);
    checking = false;
    if (me === undefined) return; // unreachable: react-native-sse keeps retrying
    subscription.unsubscribe();
    if (me === null) onSignedOut();
    else subscription = subscribe();
  }
  return () => subscription.unsubscribe();
}
