import { createServer } from 'node:http';
import Koa from 'koa';
import { loadConfig } from '../../server/config.js';
import { createGatehouse } from '../../server/gatehouse.js';
import { demoPage } from '../../server/http/demoPage.js';
import { gatehouseBenchRouter } from '../gatehouseBenchRouter.js';
import { seedEndpoint } from '../seedEndpoint.js';
import { announce } from './announce.js';

/**
 * Gatehouse as `createApp` builds it (production settings behind a trusted
 * TLS proxy: Secure `__Host-` cookie, HSTS, every guard on), with the
 * bench-only router and seeding endpoints added. Store from BENCH_STORE_URL.
 */
const config = loadConfig({
  NODE_ENV: 'production',
  TRUST_PROXY: '1',
  SESSION_STORE_URL: process.env.BENCH_STORE_URL ?? 'memory://',
  SESSION_KEYS: 'bench-key-0123456789-abcdefghijklmnopqrstuvwxyz',
  LOG_LEVEL: 'warn',
});
const gatehouse = await createGatehouse(config);
const app = new Koa({ proxy: config.trustProxy, maxIpsCount: 1 });
app.silent = true;
app.use(seedEndpoint(gatehouse));
app.use(gatehouse.middleware(app, gatehouseBenchRouter));
app.use(demoPage());
process.on('SIGTERM', () => void gatehouse.close());
// The Redis client connects lazily and, with the offline queue off, fails commands until it has: wait for it.
for (let attempt = 0; ; attempt += 1) {
  try {
    await gatehouse.store.ping();
    break;
  } catch (error) {
    if (attempt >= 50) throw error;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
await announce(createServer(app.callback()), { read: '/trpc/data', login: '/trpc/bench.login', seed: true });
