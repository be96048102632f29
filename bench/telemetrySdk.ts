import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, type SpanExporter, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';

/** A metric reader collected only when scraped, as Prometheus's is: the cost of recording, not of exporting. */
class ScrapedReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Spans batched to an exporter that drops them: the cost of making them, not of sending them. */
const dropping: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: () => Promise.resolve() };

/**
 * Registers the OpenTelemetry SDK a bench mode asks for, before Gatehouse starts: `none` (the API
 * installed, no SDK), `metrics` (a meter provider with a scraped reader), `traces:<ratio>` (a tracer
 * provider sampling that share of traces, with an AsyncLocalStorage context manager).
 *
 * @example registerBenchTelemetry('traces:0.1')
 */
export function registerBenchTelemetry(mode: string): void {
  if (mode === 'metrics') {
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new ScrapedReader()] }));
  } else if (mode.startsWith('traces:')) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const sampler = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(Number(mode.slice('traces:'.length))) });
    trace.setGlobalTracerProvider(new BasicTracerProvider({ sampler, spanProcessors: [new BatchSpanProcessor(dropping)] }));
  } else if (mode !== 'none') {
    throw new Error(`a telemetry mode is none, metrics or traces:<ratio>, got ${mode}`);
  }
}
