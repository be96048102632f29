import type { AddressInfo } from 'node:net';
import { createShopApp } from './app.js';

/** The shop's process: configuration from the environment, then listen. */
const keys = (process.env['SESSION_KEYS'] ?? '').split(',').filter(Boolean);
if (keys.length === 0) {
  console.error('SESSION_KEYS is required: one or more secrets of 32+ characters, comma-separated (openssl rand -base64 48)');
  process.exit(1);
}
const { app, gatehouse } = await createShopApp({
  keys,
  store: process.env['SESSION_STORE_URL'] ?? 'memory://',
  gatehouse: {
    // Secure cookies unless told otherwise (local development over http://).
    cookie: { secure: process.env['COOKIE_SECURE'] !== 'false' },
    trustProxy: process.env['TRUST_PROXY'] === '1',
  },
});
const server = app.listen(Number(process.env['PORT'] ?? 3000), process.env['HOST'] ?? '127.0.0.1', () => {
  const { address, port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ event: 'shop.listening', url: `http://${address}:${port}` }));
});
process.on('SIGTERM', () => {
  server.close(() => void gatehouse.close().then(() => process.exit(0)));
  server.closeIdleConnections();
});
