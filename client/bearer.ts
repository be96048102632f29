// No DOM and no Node imports: this client runs in React Native, Expo, Tauri, Electron and Node alike.
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, type TRPCClient } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import type { EventSourceLike } from './eventSourceLike.js';
import { withRefusalCodes } from './refusedStream.js';
import { memoryTokenStore, type TokenStore } from './tokenStore.js';

export * from '../shared/index.js';
export { TRPCClientError } from '@trpc/client';
export type { EventSourceLike } from './eventSourceLike.js';
export { memoryTokenStore, type TokenName, type TokenStore } from './tokenStore.js';

/** The server's headers for bearer clients (server/session/bearerCarrier.ts). */
const ASK_FOR_BEARER = 'gatehouse-session';
const TOKEN_HEADER = 'gatehouse-session-token';
const DEVICE_HEADER = 'gatehouse-device';
const REMEMBER_HEADER = 'gatehouse-remember';
const TOKEN_ENDED = 'ended';

export interface BearerClientOptions {
  /** The server's base URL, e.g. `https://api.example.com`. */
  url: string;
  /** Where the server mounts tRPC (`gatehouse.trpc({ prefix })`); default `/trpc`. */
  prefix?: string;
  /** Where the token (and the login throttle's known-device marker) live between runs; default in memory. */
  tokens?: TokenStore;
  /** The fetch to send requests with (default the global one). */
  fetch?: typeof fetch;
  /** Most calls sent in one batch; keep it at or below the server's limit (20). */
  maxItems?: number;
  /**
   * An EventSource for subscriptions that can send a header: the
   * `eventsource` package in Node (it takes a `fetch`, which this client
   * fills in), react-native-sse in React Native (give `eventSourceOptions`).
   */
  EventSource?: EventSourceLike;
  /**
   * The EventSource's options for one (re)connection, given the headers it
   * must send (the token held at that moment): default `{ fetch }` for the
   * `eventsource` package. React Native's react-native-sse takes
   * `(headers) => ({ headers })`.
   */
  eventSourceOptions?: (headers: Record<string, string>) => object;
}

/**
 * A typed client for native apps, desktop shells and CLIs: no cookie jar, a
 * bearer session (the server needs `bearer: true`). It asks for a bearer
 * session at sign-in, sends `Authorization: Bearer <token>` from then on,
 * takes the new token whenever an answer hands one over (a rotation: a
 * re-authentication, a password change), forgets it when the session
 * ends, and on a 401 only if that 401 answered the token it holds now (a
 * slow request with an old token never throws the new one away). Tokens
 * never go into a URL: subscriptions send the header too, read afresh at
 * each reconnect. With "stay signed in" (`login({ …, staySignedIn: true })`
 * on a server with `staySignedIn`), it keeps the device credential too and
 * sends it, so a session that timed out is resumed without a password.
 *
 * @example
 * const { api } = createBearerClient<AppRouter>({ url: 'https://api.example.com', tokens: fileTokenStore('~/.notes/session.json') });
 * await api.auth.login.mutate({ username: 'alice', password });
 */
export function createBearerClient<TRouter extends AnyRouter>(options: BearerClientOptions): { api: TRPCClient<TRouter>; tokens: TokenStore } {
  const url = `${options.url.replace(/\/$/, '')}/${(options.prefix ?? '/trpc').replace(/^\/+|\/+$/g, '')}`;
  const tokens = options.tokens ?? memoryTokenStore();
  const baseFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  interface Sent {
    readonly session: string | undefined;
    readonly remember: string | undefined;
  }

  /** The headers a request sends: the bearer request marker, the token, the "stay signed in" credential and the known-device marker held now. */
  async function headersNow(): Promise<{ headers: Record<string, string>; sent: Sent }> {
    const [session, device, remember] = await Promise.all([tokens.get('session'), tokens.get('device'), tokens.get('remember')]);
    const headers: Record<string, string> = { [ASK_FOR_BEARER]: 'bearer' };
    if (session !== undefined) headers['authorization'] = `Bearer ${session}`;
    if (device !== undefined) headers[DEVICE_HEADER] = device;
    if (remember !== undefined) headers[REMEMBER_HEADER] = remember;
    return { headers, sent: { session, remember } };
  }

  /** What an answer says about the session: a new token, an ended one, a refused one; the same for the device credential. */
  async function absorb(response: Response, sent: Sent): Promise<void> {
    const handed = response.headers.get(TOKEN_HEADER);
    const device = response.headers.get(DEVICE_HEADER);
    if (device) await tokens.set('device', device);
    const remember = response.headers.get(REMEMBER_HEADER);
    if (remember && remember !== TOKEN_ENDED) await tokens.set('remember', remember);
    // As for the token: only the credential this request carried, never a newer one another request was handed.
    else if (remember === TOKEN_ENDED && sent.remember !== undefined && (await tokens.get('remember')) === sent.remember) await tokens.delete('remember');
    if (handed && handed !== TOKEN_ENDED) {
      await tokens.set('session', handed);
      return;
    }
    const refused = response.status === 401 && /invalid_token/.test(response.headers.get('www-authenticate') ?? '');
    // Only the token this request carried: a slower request with an older one must not forget the newer.
    if ((handed === TOKEN_ENDED || refused) && sent.session !== undefined && (await tokens.get('session')) === sent.session) await tokens.delete('session');
  }

  const bearerFetch = async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]): Promise<Response> => {
    const { headers, sent } = await headersNow();
    const merged = { ...Object.fromEntries(new Headers(init?.headers).entries()), ...headers };
    const response = await baseFetch(input, { ...init, headers: merged, credentials: 'omit' });
    await absorb(response, sent);
    return response;
  };

  type Link = Parameters<typeof splitLink<TRouter>>[0]['true'];
  const calls = httpBatchLink<TRouter>({ url, maxItems: options.maxItems ?? 20, fetch: bearerFetch } as never) as Link;
  const EventSourceImpl = options.EventSource ?? (globalThis as { EventSource?: EventSourceLike }).EventSource;
  const links: Link = EventSourceImpl
    ? (splitLink<TRouter>({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url,
          EventSource: withRefusalCodes(EventSourceImpl) as never,
          // Every connection reads the token held at that moment: a rotation's new token, after the old id's stream ended.
          eventSourceOptions: async () => {
            if (options.eventSourceOptions) return options.eventSourceOptions((await headersNow()).headers);
            // The `eventsource` package reconnects by itself through this fetch: the headers are read at each call.
            return {
              fetch: async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
                const { headers, sent } = await headersNow();
                const response = await baseFetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers).entries()), ...headers }, credentials: 'omit' });
                // A stream's answer hands over tokens too (a session resumed by the device credential as it opened).
                await absorb(response, sent);
                return response;
              },
            };
          },
        } as never) as Link,
        false: calls,
      }) as Link)
    : calls;
  return { api: createTRPCClient<TRouter>({ links: [links] as never }), tokens };
}
