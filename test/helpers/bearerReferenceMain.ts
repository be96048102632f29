/**
 * The reference server with bearer sessions and "stay signed in" on, for the
 * CLI example's test: what `SESSION_BEARER=1 SESSION_STAY_SIGNED_IN=1 npm start`
 * starts once the reference server reads those variables. Test code only.
 */
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../server/index.js';
import { createReferenceApp } from '../../server/reference/app.js';

const { app, gatehouse } = await createReferenceApp(loadConfig(), { bearer: true, staySignedIn: true });
const server = app.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  gatehouse.logger.info({ event: 'server.listening', url: `http://127.0.0.1:${port}` }, 'bearer reference server listening');
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void gatehouse.close().finally(() => process.exit(0)));
});
