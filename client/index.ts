// No DOM lib here: these declarations are also the Node client's (`koa-gatehouse/client/node` re-exports them), and
// a `/// <reference lib="dom" />` would give every file of a Node project that imports it `document` and `window`.
// A browser project has the DOM lib of its own; a Node project has fetch's types from @types/node.
import { createTRPCClient, httpBatchLink, httpBatchStreamLink, httpSubscriptionLink, splitLink, type TRPCClient, TRPCClientError, type TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import type { EventSourceLike } from './eventSourceLike.js';
import { withRefusalCodes } from './refusedStream.js';
export * from '../shared/index.js';
// `isTRPCClientError<AppRouter>(error)` narrows a caught `unknown` to the router's error: `error.data.reason`, no cast.
export { isTRPCClientError, TRPCClientError } from '@trpc/client';

/** fetch's parameters, named without the DOM lib (a Node project has none). */
type FetchInput = Parameters<typeof fetch>[0];
type FetchInit = Parameters<typeof fetch>[1];

export type { EventSourceLike } from './eventSourceLike.js';

export interface GatehouseClientOptions {
  /** The server's base URL, e.g. `https://api.example.com` (default: the page's own origin). */
  url?: string;
  /** Where the server mounts tRPC (`gatehouse.trpc({ prefix })`); default `/trpc`. */
  prefix?: string;
  /** A fetch that keeps cookies: the browser's own (default), or a cookie-jar fetch in Node. */
  fetch?: typeof fetch;
  /** Most calls sent in one batch; keep it at or below the server's limit (20). */
  maxItems?: number;
  /**
   * Queries through `httpBatchStreamLink`: each result of a batch arrives
   * as soon as it is ready (default false: one answer per batch).
   * Mutations always go through `httpBatchLink` (a login's cookie comes
   * with its answer).
   */
  streamQueries?: boolean;
  /**
   * Subscriptions over SSE (`httpSubscriptionLink`) need an EventSource:
   * the browser's global one by default; in Node pass the `eventsource`
   * package's (`createNodeClient` wires its cookie jar into it).
   */
  EventSource?: EventSourceLike;
}

/**
 * A tRPC client typed by the server's router. Browser-safe: no Node-only
 * imports. Cookies ride along (`credentials: 'include'`, so a page on an
 * origin listed in the server's ALLOWED_ORIGINS works too). Subscriptions
 * go over SSE; queries can stream (`streamQueries`).
 *
 * @example
 * import type { AppRouter } from '../server/router.js'; // your router's type: types only, no server code
 * const api = createGatehouseClient<AppRouter>({ url: 'http://127.0.0.1:3000' });
 * await api.auth.login.mutate({ username: 'alice', password: 'correct horse battery' });
 */
export function createGatehouseClient<TRouter extends AnyRouter>(options: GatehouseClientOptions = {}): TRPCClient<TRouter> {
  const base = (options.url ?? '').replace(/\/$/, '');
  const url = `${base}/${(options.prefix ?? '/trpc').replace(/^\/+|\/+$/g, '')}`;
  const baseFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const withCredentials = (input: FetchInput, init?: FetchInit) => baseFetch(input, { ...init, credentials: 'include' });
  const maxItems = options.maxItems ?? 20;
  // Gatehouse routers use no transformer (plain JSON on the wire).
  type Link = Parameters<typeof splitLink<TRouter>>[0]['true'];
  const calls = httpBatchLink<TRouter>({ url, maxItems, fetch: withCredentials } as never) as Link;
  const queries = options.streamQueries ? (httpBatchStreamLink<TRouter>({ url, maxItems, fetch: withCredentials } as never) as Link) : calls;
  const EventSourceImpl = options.EventSource ?? (globalThis as { EventSource?: EventSourceLike }).EventSource;
  const subscriptions = EventSourceImpl
    ? (httpSubscriptionLink({
        url,
        EventSource: withRefusalCodes(EventSourceImpl) as never,
        eventSourceOptions: options.fetch ? { withCredentials: true, fetch: withCredentials } : { withCredentials: true },
      } as never) as Link)
    : noEventSourceLink<TRouter>();
  return createTRPCClient<TRouter>({
    links: [
      splitLink<TRouter>({
        condition: (op) => op.type === 'subscription',
        true: subscriptions,
        false: splitLink<TRouter>({ condition: (op) => op.type === 'query', true: queries, false: calls }),
      }),
    ],
  });
}

/** Without an EventSource (Node 20 has none), a subscription fails with the fix rather than tRPC's "use httpSubscriptionLink". */
const NO_EVENT_SOURCE =
  'Subscriptions need an EventSource, and this runtime has none (Node 20): install the eventsource package and pass it, createGatehouseClient({ EventSource }) or createNodeClient({ EventSource }), with import { EventSource } from "eventsource".';

/**
 * The subscription link of a runtime without an EventSource: every subscription fails at once with the fix.
 * A link of its own, not an EventSource that throws: @trpc/client 11.22 wraps an error thrown while it opens the
 * stream in a SuppressedError, and the message reached the caller empty.
 */
function noEventSourceLink<TRouter extends AnyRouter>(): TRPCLink<TRouter> {
  return () => () => observable((observer) => observer.error(new TRPCClientError(NO_EVENT_SOURCE)));
}
