import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AnyRouter } from '@trpc/server';
import Koa from 'koa';
import { createApp } from '../../server/app.js';
import { type GatehouseConfig, loadConfig } from '../../server/config.js';
import type { Gatehouse, GatehouseDeps } from '../../server/gatehouse.js';
import { ManualClock } from './clock.js';

export const TEST_KEY = 'test-key-0123456789-abcdefghijklmnopqrstuvwxyz';
export const OTHER_KEY = 'other-key-0123456789-abcdefghijklmnopqrstuvwxyz';

export interface TestServer {
  url: string;
  server: Server;
  gatehouse: Gatehouse;
  config: GatehouseConfig;
  clock: ManualClock;
  close(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  deps?: GatehouseDeps;
  /** Build the app yourself (e.g. a host app with extra routes); defaults to the reference app. */
  router?: AnyRouter;
}

export function testConfig(env: Record<string, string> = {}): GatehouseConfig {
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

/** Starts the reference server on 127.0.0.1, port 0, with a manual clock. */
export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const config = testConfig(options.env);
  const clock = new ManualClock();
  let app: Koa;
  let gatehouse: Gatehouse;
  if (options.router) {
    const { createGatehouse } = await import('../../server/gatehouse.js');
    gatehouse = await createGatehouse(config, { clock, ...options.deps });
    app = new Koa({ proxy: config.trustProxy, maxIpsCount: 1 });
    app.silent = true;
    app.use(gatehouse.middleware(app, options.router));
  } else {
    ({ app, gatehouse } = await createApp(config, { clock, ...options.deps }));
  }
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    gatehouse,
    config,
    clock,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gatehouse.close();
    },
  };
}
