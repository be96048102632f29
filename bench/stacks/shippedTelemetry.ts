import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, type SpanExporter, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';

/**
 * The shipped server (bench/stacks/shipped.ts) with an OpenTelemetry SDK
 * registered first, as `BENCH_OTEL` says: `none` (the API installed, no
 * SDK), `metrics` (a meter provider whose reader is collected only by a
 * scrape, as Prometheus's is), `traces:<ratio>` (a tracer provider sampling
 * that share of traces, spans batched to an exporter that drops them:
 * the cost of making them, not of sending them).
 */
class ScrapedReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}
const dropping: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: () => Promise.resolve() };

const mode = process.env.BENCH_OTEL ?? 'none';
if (mode === 'metrics') {
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new ScrapedReader()] }));
} else if (mode.startsWith('traces:')) {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const sampler = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(Number(mode.slice('traces:'.length))) });
  trace.setGlobalTracerProvider(new BasicTracerProvider({ sampler, spanProcessors: [new BatchSpanProcessor(dropping)] }));
} else if (mode !== 'none') {
  throw new Error(`BENCH_OTEL: none, metrics or traces:<ratio>, got ${mode}`);
}
await import('./shipped.js');
