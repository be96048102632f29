import { createServer } from 'node:http';
import { loadConfig } from '../../server/index.js';
import { createReferenceApp } from '../../server/reference/app.js';
import { announce } from './announce.js';

/**
 * The reference server as `npm start` runs it, on the memory store: the
 * reference router (no bench routes), every middleware, the default log
 * level, production settings behind a trusted TLS proxy. Its reads go
 * through a real account: the runner registers one with a password
 * (argon2id, once) and reads `data` with that cookie or token. No creation
 * workload: each would be a password hash.
 */
const config = loadConfig({
  NODE_ENV: 'production',
  TRUST_PROXY: '1',
  SESSION_STORE_URL: 'memory://',
  SESSION_KEYS: 'bench-key-0123456789-abcdefghijklmnopqrstuvwxyz',
});
const { app, gatehouse } = await createReferenceApp(config, process.env.BENCH_BEARER === '1' ? { bearer: true } : {});
process.on('SIGTERM', () => void gatehouse.close());
await announce(createServer(app.callback()), { read: '/trpc/data', login: '/trpc/auth.register', readsOnly: true });
