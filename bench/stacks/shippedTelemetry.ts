import { registerBenchTelemetry } from '../telemetrySdk.js';

/**
 * The shipped server (bench/stacks/shipped.ts) with an OpenTelemetry SDK
 * registered first, as `BENCH_OTEL` says: `none`, `metrics` or
 * `traces:<ratio>` (bench/telemetrySdk.ts).
 */
registerBenchTelemetry(process.env.BENCH_OTEL ?? 'none');
await import('./shipped.js');
