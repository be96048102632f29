/**
 * `npx tsx bench/telemetryOverhead.ts [none|metrics|traces:<ratio>] [--reads=200000]`
 * The CPU that Gatehouse's telemetry adds to one authenticated read, measured in one process without HTTP
 * (so the machine's load hardly matters): what a read does through the telemetry seams (the session load
 * span around one store `get`, timed and traced by the instrumented store) against the same `get` on the bare
 * store, in alternating blocks, process.cpuUsage() around each. Divide by the server CPU of a whole read
 * (bench/telemetryCost.ts) for the share. The SDK is registered by bench/telemetrySdk.ts, as for bench/stacks/shippedTelemetry.ts.
 */
import { trace } from '@opentelemetry/api';
import { instrumentedStore } from '../server/store/instrumentedStore.js';
import { MemoryKeyValueStore } from '../server/store/memoryKeyValueStore.js';
import { loadTelemetry } from '../server/telemetry/loadTelemetry.js';
import { registerBenchTelemetry } from './telemetrySdk.js';

const args = process.argv.slice(2);
const mode = args.find((a) => !a.startsWith('--')) ?? 'none';
const reads = Number(args.find((a) => a.startsWith('--reads='))?.split('=')[1] ?? 200_000);
registerBenchTelemetry(mode);

const telemetry = await loadTelemetry();
const bare = new MemoryKeyValueStore();
const store = instrumentedStore(bare, telemetry);
await bare.set('s:key', 'x'.repeat(300), 60_000);

// With tracing, each read runs in the app's request span (as under @opentelemetry/instrumentation-http), on both
// sides: the request span and the context manager are the app's cost, not Gatehouse's.
const tracer = trace.getTracer('bench-http');
const inRequest = mode.startsWith('traces:')
  ? (read: () => Promise<unknown>) => () =>
      tracer.startActiveSpan('GET /trpc/data', (span) =>
        read().finally(() => {
          span.end();
        }),
      )
  : (read: () => Promise<unknown>) => read;
const instrumentedRead = inRequest(() => telemetry.inSpan('gatehouse.session.load', () => store.get('s:key')));
const bareRead = inRequest(() => bare.get('s:key'));

async function cpuPerRead(read: () => Promise<unknown>, n: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i += 1) await read();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

// Warm up both paths, then alternate blocks so that drift hits both alike.
await cpuPerRead(instrumentedRead, 20_000);
await cpuPerRead(bareRead, 20_000);
const blocks = 10;
const with_: number[] = [];
const without: number[] = [];
for (let block = 0; block < blocks; block += 1) {
  without.push(await cpuPerRead(bareRead, reads / blocks));
  with_.push(await cpuPerRead(instrumentedRead, reads / blocks));
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const added = with_.map((value, i) => value - without[i]!);
console.log(
  `${mode}: telemetry ${telemetry.enabled ? 'on' : 'off (nothing wrapped)'}; bare read ${median(without).toFixed(3)} µs, through the seams ${median(with_).toFixed(3)} µs: +${median(added).toFixed(3)} µs per read (blocks: ${added.map((v) => v.toFixed(2)).join(' ')})`,
);
