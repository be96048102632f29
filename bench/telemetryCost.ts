/**
 * `npx tsx bench/telemetryCost.ts [--seconds=8] [--rounds=3] [--before=<checkout>]`
 * What OpenTelemetry costs the shipped server's authenticated read: server CPU µs per request
 * (/proc, user + system) with no SDK, metrics only, and tracing at 100 % and 10 %, rounds interleaved
 * (every mode once per round, in turn) so that the machine's load hits them alike. Server on CPU 0,
 * autocannon here on CPU 1 (50 connections), a discarded 3 s warm-up per run. `--before=<dir>`: also the
 * shipped server of another checkout (one without telemetry, its node_modules in place), as mode `before`.
 */
import { execFileSync } from 'node:child_process';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load, signIn } from './measure.js';
import { cpuSecondsOf } from './processCpu.js';
import { startStack } from './stackProcess.js';

const args = process.argv.slice(2);
const seconds = Number(args.find((a) => a.startsWith('--seconds='))?.split('=')[1] ?? 8);
const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? 3);
const before = args.find((a) => a.startsWith('--before='))?.split('=')[1];
const MODES = [...(before ? ['before'] : []), 'none', 'metrics', 'traces:1', 'traces:0.1'];
const STACKS_DIR = fileURLToPath(new URL('./stacks/', import.meta.url));
const specOf = (mode: string) =>
  mode === 'before'
    ? { name: 'shipped, before', file: relative(STACKS_DIR, `${before}/bench/stacks/shipped.ts`) }
    : { name: `shipped, ${mode}`, file: 'shippedTelemetry.ts', env: { BENCH_OTEL: mode } };

execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
const perRequest = new Map<string, number[]>(MODES.map((mode) => [mode, []]));
for (let round = 1; round <= rounds; round += 1) {
  for (const mode of MODES) {
    const stack = await startStack(specOf(mode), 0);
    const credential = await signIn(stack);
    await load(stack, 'read', credential, 3);
    const before = cpuSecondsOf(stack.child.pid)!;
    const result = await load(stack, 'read', credential, seconds);
    const cpu = cpuSecondsOf(stack.child.pid)! - before;
    await stack.stop();
    if (result.bad > 0) throw new Error(`${mode}: ${result.bad} bad answers`);
    const us = (cpu * 1e6) / (result.rps * seconds);
    perRequest.get(mode)!.push(us);
    console.log(`round ${round} ${mode.padEnd(11)} ${Math.round(result.rps)} req/s, ${us.toFixed(1)} µs CPU/req`);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const baseMode = before ? 'before' : 'none';
const base = median(perRequest.get(baseMode)!);
console.log(`\n| mode | µs CPU per read (median; all rounds) | vs ${baseMode} |\n|---|---:|---:|`);
for (const mode of MODES) {
  const values = perRequest.get(mode)!;
  const m = median(values);
  console.log(`| ${mode} | ${m.toFixed(1)} (${values.map((v) => v.toFixed(0)).join(', ')}) | ${mode === baseMode ? '—' : `${(((m - base) / base) * 100).toFixed(1)} %`} |`);
}
console.log(`\nload average: ${execFileSync('cat', ['/proc/loadavg']).toString().trim()}`);
