import type { AnyRouter } from '@trpc/server';
import type { GatehouseOptions, KeyValueStore } from '../../server/index.js';
import type { Backend } from './backends.js';
import { startServer, type TestServer } from './server.js';

export interface BackendServerOptions {
  env?: Record<string, string>;
  router?: AnyRouter;
  /** Use this already open store (shared by several servers) instead of opening one. */
  store?: KeyValueStore;
  /** Other options for createGatehouse (a hasher, an events hook, …). */
  deps?: Partial<GatehouseOptions>;
}

/** The reference server (or a host router) on one backend's isolated key space. */
export async function startBackendServer(backend: Backend, options: BackendServerOptions = {}): Promise<TestServer> {
  const store = options.store ?? (await backend.open());
  return startServer({
    env: { ...backend.env, ...options.env },
    deps: { ...options.deps, store },
    ...(options.router ? { router: options.router } : {}),
  });
}

/**
 * A view of `store` whose `close()` does nothing, for servers that share
 * one store: closing one server must not close it under the others.
 */
export function shared(store: KeyValueStore): KeyValueStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'close') return () => Promise.resolve();
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The raw session id inside a `sid=<id>.<signature>` cookie pair. */
export const idOfCookie = (cookie: string) => cookie.slice(cookie.indexOf('=') + 1).split('.')[0]!;
