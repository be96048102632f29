import { context, metrics, type Span, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { type DataPoint, type Histogram, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type Koa from 'koa';

/** A metric reader whose `collect()` the test calls: what an exporter would send, on demand. */
class CollectingReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** The OpenTelemetry SDK as an app registers it, with in-memory exporters, and what it recorded. */
export interface TelemetrySdk {
  readonly spans: InMemorySpanExporter;
  /** Every metric recorded so far (cumulative). */
  collect(): Promise<MetricData[]>;
  /** A Koa middleware that plays `@opentelemetry/instrumentation-http`: each request in an active server span. */
  requestSpans(): Koa.Middleware;
  shutdown(): Promise<void>;
}

/** Registers a tracer provider, a meter provider and an AsyncLocalStorage context manager globally. */
export function registerTelemetrySdk(): TelemetrySdk {
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  trace.setGlobalTracerProvider(tracerProvider);
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(meterProvider);
  const tracer = trace.getTracer('test-http');
  return {
    spans,
    async collect() {
      const { resourceMetrics } = await reader.collect();
      return resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
    },
    requestSpans: () =>
      function requestSpan(ctx, next) {
        // `x-test-unsampled`: the request's trace was not sampled (a propagated parent with the sampled flag off).
        if (ctx.get('x-test-unsampled')) {
          const unsampled = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.NONE });
          return context.with(trace.setSpan(context.active(), unsampled), next);
        }
        return tracer.startActiveSpan(`${ctx.method} request`, async (span: Span) => {
          try {
            await next();
          } finally {
            span.end();
          }
        });
      },
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      trace.disable();
      metrics.disable();
      context.disable();
    },
  };
}

/** The metric of that name, or a failure listing the names there are. */
export function metricNamed(all: readonly MetricData[], name: string): MetricData {
  const found = all.find((metric) => metric.descriptor.name === name);
  if (!found) throw new Error(`no metric ${name}; recorded: ${all.map((metric) => metric.descriptor.name).join(', ')}`);
  return found;
}

/** The value of a counter's data point whose attributes are exactly `attributes` (0: none). */
export function countOf(all: readonly MetricData[], name: string, attributes: Record<string, string> = {}): number {
  const metric = all.find((candidate) => candidate.descriptor.name === name);
  const point = (metric?.dataPoints as DataPoint<number>[] | undefined)?.find((candidate) => sameAttributes(candidate.attributes, attributes));
  return point?.value ?? 0;
}

/** How many values a histogram recorded under exactly `attributes`. */
export function histogramCount(all: readonly MetricData[], name: string, attributes: Record<string, string>): number {
  const metric = all.find((candidate) => candidate.descriptor.name === name);
  const point = (metric?.dataPoints as DataPoint<Histogram>[] | undefined)?.find((candidate) => sameAttributes(candidate.attributes, attributes));
  return point?.value.count ?? 0;
}

function sameAttributes(actual: Record<string, unknown>, expected: Record<string, string>): boolean {
  const keys = Object.keys(actual);
  return keys.length === Object.keys(expected).length && keys.every((key) => actual[key] === expected[key]);
}

/** A span's parent span id (SDK 2: `parentSpanContext`). */
export const parentIdOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
