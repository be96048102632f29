/**
 * A Gatehouse process (the reference app) whose store and hasher have gates
 * the test drives over HTTP, for races across processes:
 * `POST /__gates/<name>/arm?times=N`, `GET /__gates/<name>/held?count=N`
 * (answers once N requests are held), `POST /__gates/<name>/release`,
 * `GET /__gates/<name>/count` (how many are held now).
 * Gates: `hash`, `verify` (the hasher), `write` (compareAndSet of an
 * account), `index` (a session joining its user's index). Test code only.
 */
import type { AddressInfo } from 'node:net';
import { createLogger, createPasswordHasher, loadConfig, openStore } from '../../server/index.js';
import { createReferenceApp } from '../../server/reference/app.js';
import { Gate, gatedHasher, gatedStore } from './gates.js';

const config = loadConfig();
const gates: Record<string, Gate> = { hash: new Gate(), verify: new Gate(), write: new Gate(), index: new Gate() };
const store = gatedStore(await openStore({ url: config.gatehouse.store, timeoutMs: config.gatehouse.storeTimeout, namespace: config.gatehouse.storeNamespace }), {
  compareAndSet: { gate: gates.write!, key: /^ai:/ },
  mapSet: { gate: gates.index!, key: /^si:/ },
});
const hasher = gatedHasher(await createPasswordHasher(), { hash: gates.hash!, verify: gates.verify! });
const logger = createLogger(config.logLevel);
const { app } = await createReferenceApp(config, { store, hasher, logger });
app.middleware.unshift(async (ctx, next) => {
  const match = /^\/__gates\/(\w+)\/(arm|held|release|count)$/.exec(ctx.path);
  const gate = match ? gates[match[1]!] : undefined;
  if (!match || !gate) return next();
  if (match[2] === 'arm') gate.arm(Number(ctx.query.times ?? 1));
  else if (match[2] === 'held') await gate.held(Number(ctx.query.count ?? 1));
  else if (match[2] === 'release') gate.release();
  ctx.body = { ok: true, blocked: gate.blocked };
});
const server = app.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  logger.info({ event: 'server.listening', url: `http://127.0.0.1:${port}` }, 'gated server listening');
});
process.on('SIGTERM', () => {
  for (const gate of Object.values(gates)) gate.release();
  server.closeAllConnections();
  server.close(() => void store.close().finally(() => process.exit(0)));
});
