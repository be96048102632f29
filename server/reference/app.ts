import type { AnyRouter } from '@trpc/server';
import Koa from 'koa';
import { createGatehouse, createLogger, type Gatehouse, type GatehouseOptions, type ReferenceConfig } from '../index.js';
import { demoPage } from './demoPage.js';
import { referenceRouter } from './router.js';

export interface ReferenceApp {
  app: Koa;
  gatehouse: Gatehouse;
}

/**
 * The reference server: Gatehouse with every opt-in helper on, plus the
 * demo page, without listening. Built on the public API only.
 *
 * @example
 * const { app, gatehouse } = await createReferenceApp(loadConfig());
 * const server = app.listen(3000);
 */
export async function createReferenceApp(
  config: ReferenceConfig,
  overrides: Partial<GatehouseOptions> & { router?: AnyRouter } = {},
): Promise<ReferenceApp> {
  const { router: served = referenceRouter, ...options } = overrides;
  // A store instance given here keeps its own namespace and deadline: SESSION_STORE_NAMESPACE and
  // SESSION_STORE_TIMEOUT apply to the URL only.
  const { storeNamespace, storeTimeout, ...fromConfig } = config.gatehouse;
  const base = typeof options.store === 'object' ? fromConfig : { ...fromConfig, storeNamespace, storeTimeout };
  const gatehouse = await createGatehouse({ ...base, logger: createLogger(config.logLevel), ...options });
  const app = new Koa();
  // Koa's default error printer would log to stderr; the error boundary logs structured instead.
  app.silent = true;
  app.use(gatehouse.requestId());
  app.use(gatehouse.securityHeaders());
  app.use(gatehouse.errorBoundary());
  app.use(gatehouse.cors());
  if (gatehouse.options.cookie.secure) app.use(gatehouse.httpsOnly());
  app.use(gatehouse.healthz());
  app.use(gatehouse.session());
  app.use(gatehouse.trpc({ router: served, prefix: '/trpc' }));
  app.use(demoPage({ staySignedIn: gatehouse.options.staySignedInMs !== undefined }));
  return { app, gatehouse };
}
