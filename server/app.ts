import Koa from 'koa';
import type { GatehouseConfig } from './config.js';
import { createGatehouse, type Gatehouse, type GatehouseDeps } from './gatehouse.js';
import { demoPage } from './http/demoPage.js';

export interface GatehouseApp {
  app: Koa;
  gatehouse: Gatehouse;
}

/**
 * The reference server: Gatehouse plus the demo page, without listening.
 *
 * @example
 * const { app, gatehouse } = await createApp(loadConfig());
 * const server = app.listen(3000);
 */
export async function createApp(config: GatehouseConfig, deps: GatehouseDeps = {}): Promise<GatehouseApp> {
  const gatehouse = await createGatehouse(config, deps);
  const app = new Koa({ proxy: config.trustProxy, maxIpsCount: 1 });
  // Koa's default error printer would log to stderr; the error boundary logs structured instead.
  app.silent = true;
  app.use(gatehouse.middleware(app));
  app.use(demoPage());
  return { app, gatehouse };
}
