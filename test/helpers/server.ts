import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AnyRouter } from '@trpc/server';
import { type BuiltInAccounts, type Gatehouse, type GatehouseOptions, loadConfig, type ReferenceConfig, type UserDirectory } from '../../server/index.js';
import { createReferenceApp } from '../../server/reference/app.js';
import { ManualClock } from './clock.js';

export const TEST_KEY = 'test-key-0123456789-abcdefghijklmnopqrstuvwxyz';
export const OTHER_KEY = 'other-key-0123456789-abcdefghijklmnopqrstuvwxyz';

export interface TestServer {
  url: string;
  server: Server;
  gatehouse: Gatehouse;
  config: ReferenceConfig;
  clock: ManualClock;
  /** The built-in accounts directory behind the server (the reference server keeps the built-in user). */
  users: UserDirectory;
  close(): Promise<void>;
}

/** The built-in accounts directory of a Gatehouse that keeps the built-in user. */
export const directoryOf = (gatehouse: Gatehouse): UserDirectory => (gatehouse.services.accounts as BuiltInAccounts).directory;

export interface StartOptions {
  env?: Record<string, string>;
  /** Options that override what the environment gives (a shared store, a hasher, a logger, a clock). */
  deps?: Partial<GatehouseOptions>;
  /** Serve this router (e.g. a host router with extra procedures) instead of the reference one. */
  router?: AnyRouter;
}

export function testConfig(env: Record<string, string> = {}): ReferenceConfig {
  return loadConfig({
    NODE_ENV: 'test',
    SESSION_STORE_URL: 'memory://',
    SESSION_KEYS: TEST_KEY,
    // Every suite calls from 127.0.0.1, and counters in a shared Redis or PostgreSQL outlive a suite: keep the
    // per-address limits out of the way unless a test sets them (the throttle tests do).
    REGISTER_MAX_PER_ADDRESS: '10000',
    LOGIN_MAX_FAILURES_PER_ADDRESS: '10000',
    ...env,
  });
}

/** Starts the reference server on 127.0.0.1, port 0, with a manual clock (unless `deps.clock` is given). */
export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const config = testConfig(options.env);
  const clock = (options.deps?.clock as ManualClock | undefined) ?? new ManualClock();
  const { app, gatehouse } = await createReferenceApp(config, { clock, ...options.deps, ...(options.router ? { router: options.router } : {}) });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    gatehouse,
    config,
    clock,
    users: directoryOf(gatehouse),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gatehouse.close();
    },
  };
}
