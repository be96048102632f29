import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createReferenceApp } from './app.js';
import { type MetricsEndpoint, startMetricsEndpoint } from './metricsEndpoint.js';
import { loadConfigOrExit, redactUrl, secretScrubber } from '../index.js';

/** Process entry: parse config once, listen, shut down gracefully. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const scrub = secretScrubber(config.gatehouse.store);
  let started: Awaited<ReturnType<typeof createReferenceApp>>;
  let metricsEndpoint: MetricsEndpoint | undefined;
  try {
    // Before Gatehouse: the meter provider must be registered when createGatehouse makes its instruments.
    if (config.metrics) metricsEndpoint = await startMetricsEndpoint(config.metrics.port, config.metrics.host);
    started = await createReferenceApp(config);
  } catch (error) {
    // One readable line, never the store URL's password (D2).
    console.error(`Gatehouse could not start: ${scrub(error instanceof Error ? error.message : String(error))}`);
    process.exit(1);
  }
  const { app, gatehouse } = started;
  const log = gatehouse.logger;
  if (metricsEndpoint) log.info({ event: 'metrics.listening', url: metricsEndpoint.url }, `Prometheus metrics at ${metricsEndpoint.url}`);
  if (config.keysGenerated) {
    log.warn('SESSION_KEYS is not set: generated a random key. Sessions will not survive a restart unless SESSION_KEYS is set.');
  }
  const server = app.listen(config.port, config.host, () => {
    const { port } = server.address() as AddressInfo;
    const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    log.info({ event: 'server.listening', url: base, store: gatehouse.store.kind, storeUrl: redactUrl(config.gatehouse.store) }, `Gatehouse listening on ${base}`);
    if (config.env === 'development') {
      console.log(
        [
          '',
          `  Gatehouse is running: ${base}/  (store: ${redactUrl(config.gatehouse.store)})`,
          '  Create a user from the demo page, or with curl:',
          `    curl -c jar -H 'content-type: application/json' -d '{"username":"alice","password":"correct horse battery"}' ${base}/trpc/auth.register`,
          `    curl -b jar ${base}/trpc/data`,
          '',
        ].join('\n'),
      );
    }
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  let stopping = false;
  // During shutdown, answers close their connection so keep-alive sockets do not hold the exit.
  const inFlight = new Set<ServerResponse>();
  server.on('request', (_req, res: ServerResponse) => {
    if (stopping) res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'server.stopping', signal }, 'stopping: finishing in-flight requests');
    const force = setTimeout(() => {
      log.warn('in-flight requests did not finish within 10 s; closing them');
      server.closeAllConnections();
    }, 10_000);
    force.unref();
    server.close(() => {
      Promise.all([gatehouse.close(), metricsEndpoint?.close()])
        .catch((error: unknown) => log.error({ err: error }, 'closing the store failed'))
        .finally(() => {
          log.info({ event: 'server.stopped' }, 'stopped');
          process.exit(0);
        });
    });
    server.closeIdleConnections();
    for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

await main();
