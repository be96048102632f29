import { createServer } from 'node:http';
import { loadConfig } from '../../server/index.js';
import { createReferenceApp } from '../../server/reference/app.js';
import { gatehouseBenchRouter } from '../gatehouseBenchRouter.js';
import { seedEndpoint } from '../seedEndpoint.js';
import { announce } from './announce.js';

/**
 * Gatehouse as the reference server builds it (production settings behind a trusted
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
const { app, gatehouse } = await createReferenceApp(config, { router: gatehouseBenchRouter });
// The seeding endpoints run before everything else (they are the bench's, not a client's).
app.middleware.unshift(seedEndpoint(gatehouse));
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
