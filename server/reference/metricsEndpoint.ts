import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetricsEndpoint {
  /** `http://host:port/metrics` */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Prometheus's scrape endpoint on a port of its own (OpenTelemetry's
 * Prometheus exporter, which reads the instruments Gatehouse reports
 * through `@opentelemetry/api`). Registers the meter provider globally, so
 * it must run before `createGatehouse`. Only `GET /metrics` is answered;
 * the public port never serves it.
 */
export async function startMetricsEndpoint(port: number, host: string): Promise<MetricsEndpoint> {
  const [{ PrometheusExporter }, { MeterProvider }, { metrics }] = await Promise.all([
    import('@opentelemetry/exporter-prometheus'),
    import('@opentelemetry/sdk-metrics'),
    import('@opentelemetry/api'),
  ]);
  const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
  // Prometheus names carry their unit (OpenTelemetry's own names do not); this exporter does not add it (the
  // Collector's Prometheus exporter adds unit suffixes by default, which should give the same name).
  const views = [{ instrumentName: 'gatehouse.store.operation.duration', name: 'gatehouse.store.operation.duration_seconds' }];
  const provider = new MeterProvider({ readers: [exporter], views });
  metrics.setGlobalMeterProvider(provider);
  const server: Server = createServer(function metricsRequest(req, res) {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      exporter.getMetricsRequestHandler(req, res);
      return;
    }
    res.statusCode = 404;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end('Not Found: the metrics are at GET /metrics\n');
  });
  server.listen(port, host);
  await once(server, 'listening');
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await provider.shutdown();
    },
  };
}
