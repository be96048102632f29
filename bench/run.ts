/**
 * `npm run bench` (full) and `npm run bench -- --quick` (under two minutes).
 * Starts each stack as its own process on 127.0.0.1, pinned to CPU 0, and
 * drives it with autocannon from this process, pinned to CPU 1; rounds are
 * interleaved across stacks, the warm-up is discarded. Writes bench/results.md.
 * Options: --quick, --rounds=N, --seconds=S, --only=name,name (development).
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARGON2_PARAMS } from '../server/accounts/passwordHasher.js';
import { type Credential, type LoadResult, load, signIn, type Workload } from './measure.js';
import { cpuSecondsOf } from './processCpu.js';
import { RedisProbe } from './redisProbe.js';
import { type Report, renderReport, type StackRows } from './report.js';
import { type RunningStack, type StackSpec, startStack } from './stackProcess.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const quick = args.includes('--quick');
const settings = {
  rounds: Number(flag('rounds') ?? 3),
  seconds: Number(flag('seconds') ?? (quick ? 1 : 10)),
  warmupSeconds: quick ? 1 : 3,
  bytesSessions: quick ? 10_000 : 100_000,
  scaleSmall: 1_000,
  scaleLarge: quick ? 50_000 : 1_000_000,
  hashes: quick ? 5 : 20,
};
const only = flag('only')?.split(',');
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/9';
// Outside the repository: a scratch database, removed at start and end.
const scratchDir = join(tmpdir(), `gatehouse-bench-${process.pid}`);
const sqlitePath = join(scratchDir, 'gatehouse-bench.sqlite');

const STACKS: StackSpec[] = [
  { name: 'node:http (no session)', file: 'bareHttp.ts' },
  { name: 'Koa (no session)', file: 'bareKoa.ts' },
  { name: 'koa-session + Keyv memory', file: 'koaSession.ts' },
  { name: 'express 5 + express-session', file: 'expressSession.ts' },
  { name: 'fastify + @fastify/session', file: 'fastifySession.ts' },
  { name: 'iron-session (node:http)', file: 'ironSession.ts' },
  { name: 'plain tRPC-on-Koa (koa-session)', file: 'plainTrpcKoa.ts' },
  { name: 'Gatehouse, memory', file: 'gatehouse.ts', env: { BENCH_STORE_URL: 'memory://' } },
  { name: 'Gatehouse, SQLite', file: 'gatehouse.ts', env: { BENCH_STORE_URL: `sqlite://${sqlitePath}` } },
  { name: 'Gatehouse, Redis', file: 'gatehouse.ts', env: { BENCH_STORE_URL: redisUrl } },
  { name: 'shipped server (npm start, memory)', file: 'shipped.ts' },
  { name: 'shipped server, bearer token', file: 'shipped.ts', env: { BENCH_BEARER: '1' }, credential: 'bearer' },
];
export const BARE_KOA = STACKS[1]!.name;
export const KOA_SESSION = STACKS[2]!.name;
export const PLAIN_TRPC = STACKS[6]!.name;
export const SHIPPED = STACKS[10]!.name;
export const SHIPPED_BEARER = STACKS[11]!.name;

/** Server on CPU 0, this load generator on CPU 1, when the machine has two cores and taskset. */
function pinning(): { server: number | undefined; note: string } {
  if (availableParallelism() < 2) return { server: undefined, note: 'not pinned (one core)' };
  try {
    execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
    return { server: 0, note: 'servers on CPU 0, autocannon on CPU 1 (taskset)' };
  } catch {
    return { server: undefined, note: 'not pinned (no taskset)' };
  }
}

async function argon2MsPerHash(count: number): Promise<number> {
  const argon2 = (await import('argon2')).default;
  await argon2.hash('warm-up-password', ARGON2_PARAMS);
  const started = performance.now();
  for (let i = 0; i < count; i += 1) await argon2.hash(`bench-password-${i}`, ARGON2_PARAMS);
  return (performance.now() - started) / count;
}

/** One measured run, with the server's CPU time per request. */
async function measured(stack: RunningStack, workload: Workload, credential: Credential, seconds: number) {
  const cpuBefore = cpuSecondsOf(stack.child.pid);
  const result: LoadResult = await load(stack, workload, credential, seconds);
  const cpuAfter = cpuSecondsOf(stack.child.pid);
  const requests = result.rps * seconds;
  const cpuMicros = cpuBefore !== undefined && cpuAfter !== undefined && requests > 0 ? ((cpuAfter - cpuBefore) / requests) * 1e6 : NaN;
  return { ...result, cpuMicros };
}

async function post(stack: RunningStack, path: string): Promise<unknown> {
  const response = await fetch(`${stack.origin}${path}`, { method: 'POST' });
  if (!response.ok) throw new Error(`${stack.spec.name} ${path}: ${response.status}`);
  return response.json();
}

async function heapUsed(stack: RunningStack): Promise<number> {
  const response = await fetch(`${stack.origin}/__bench/heap`);
  return ((await response.json()) as { heapUsed: number }).heapUsed;
}

async function main(): Promise<void> {
  const started = Date.now();
  // Read before pinning: afterwards this process sees only its one CPU.
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`;
  const pin = pinning();
  const redis = new RedisProbe(redisUrl);
  const redisUp = redis.available();
  if (redisUp) redis.cleanup();
  rmSync(scratchDir, { recursive: true, force: true });
  const notes: string[] = [];
  if (!redisUp) notes.push(`Redis at ${redisUrl} did not answer: the Redis stack was skipped.`);

  console.log(`argon2id hash cost (${settings.hashes} hashes)…`);
  const hashMs = await argon2MsPerHash(settings.hashes);

  const specs = STACKS.filter((s) => (redisUp || !s.env?.BENCH_STORE_URL?.startsWith('redis')) && (!only || only.some((o) => s.name.toLowerCase().includes(o.toLowerCase()))));
  const rows = new Map<string, StackRows>();
  const stacks: { stack: RunningStack; credential: Credential }[] = [];
  try {
    // Started together (their start-up is mostly TypeScript loading), measured one at a time.
    const launches = await Promise.allSettled(specs.map((spec) => startStack(spec, pin.server)));
    for (const result of launches) if (result.status === 'fulfilled') stacks.push({ stack: result.value, credential: {} });
    const failed = launches.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (const entry of stacks) {
      entry.credential = await signIn(entry.stack);
      rows.set(entry.stack.spec.name, { read: [], create: [] });
    }
    console.log(`warm-up (${settings.warmupSeconds} s per stack and workload, discarded)…`);
    for (const { stack, credential } of stacks) {
      await load(stack, 'read', credential, settings.warmupSeconds);
      if (!stack.readsOnly) await load(stack, 'create', credential, settings.warmupSeconds);
    }
    for (let round = 0; round < settings.rounds; round += 1) {
      // Rotate the order each round so no stack always runs right after the same neighbour.
      const order = stacks.map((_, i) => stacks[(i + round) % stacks.length]!);
      for (const { stack, credential } of order) {
        for (const workload of stack.readsOnly ? (['read'] as const) : (['read', 'create'] as const)) {
          const result = await measured(stack, workload, credential, settings.seconds);
          rows.get(stack.spec.name)![workload][round] = result;
          console.log(`round ${round + 1} ${workload.padEnd(6)} ${stack.spec.name.padEnd(34)} ${Math.round(result.rps).toString().padStart(7)} req/s  p99 ${result.p99} ms  ${result.cpuMicros.toFixed(0)} µs CPU/req${result.bad ? `  (${result.bad} bad)` : ''}`);
        }
      }
    }
  } finally {
    await Promise.all(stacks.map(({ stack }) => stack.stop()));
  }

  // Bytes per session: a fresh server, the heap (or Redis used_memory) before and after seeding.
  const bytes: Report['bytes'] = [];
  const gatehouseMemory = STACKS.find((s) => s.name === 'Gatehouse, memory')!;
  const gatehouseRedis = STACKS.find((s) => s.name === 'Gatehouse, Redis')!;
  if (!only || only.some((o) => 'bytes'.includes(o))) {
    console.log(`bytes per session after ${settings.bytesSessions} sessions…`);
    const memoryStack = await startStack(gatehouseMemory, pin.server, ['--max-old-space-size=4096']);
    try {
      const before = await heapUsed(memoryStack);
      await post(memoryStack, `/__bench/seed?n=${settings.bytesSessions}`);
      const after = await heapUsed(memoryStack);
      bytes.push({ stack: gatehouseMemory.name, measure: 'server heap + Buffers after GC', bytes: (after - before) / settings.bytesSessions });
    } finally {
      await memoryStack.stop();
    }
    if (redisUp) {
      const redisStack = await startStack(gatehouseRedis, pin.server);
      try {
        const before = redis.usedMemory();
        await post(redisStack, `/__bench/seed?n=${settings.bytesSessions}`);
        const after = redis.usedMemory();
        bytes.push({ stack: gatehouseRedis.name, measure: 'Redis INFO used_memory', bytes: (after - before) / settings.bytesSessions });
      } finally {
        await redisStack.stop();
        redis.cleanup();
      }
    }
  }

  // Read rate and CPU per request with few and many stored sessions, interleaved.
  const scale: Report['scale'] = [];
  if (!only || only.some((o) => 'scale'.includes(o))) {
    console.log(`authenticated reads with ${settings.scaleSmall} vs ${settings.scaleLarge} sessions stored…`);
    const sizes = [settings.scaleSmall, settings.scaleLarge];
    const running: { size: number; stack: RunningStack; credential: Credential; runs: Awaited<ReturnType<typeof measured>>[] }[] = [];
    try {
      for (const size of sizes) {
        const stack = await startStack(gatehouseMemory, pin.server, ['--max-old-space-size=8192']);
        await post(stack, `/__bench/seed?n=${size}`);
        // Collect the seeding's garbage now, so no run pays for it.
        await heapUsed(stack);
        const credential = await signIn(stack);
        await load(stack, 'read', credential, settings.warmupSeconds);
        running.push({ size, stack, credential, runs: [] });
      }
      for (let round = 0; round < settings.rounds; round += 1) {
        for (const entry of running) entry.runs.push(await measured(entry.stack, 'read', entry.credential, settings.seconds));
      }
    } finally {
      await Promise.all(running.map((r) => r.stack.stop()));
    }
    for (const r of running) scale.push({ sessions: r.size, runs: r.runs });
  }
  rmSync(scratchDir, { recursive: true, force: true });

  const report: Report = {
    date: new Date().toISOString(),
    machine,
    node: process.version,
    command: `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`,
    pinning: pin.note,
    settings,
    hashMs,
    rows,
    baseline: { bareKoa: BARE_KOA, koaSession: KOA_SESSION, plainTrpc: PLAIN_TRPC, shipped: SHIPPED, shippedBearer: SHIPPED_BEARER },
    bytes,
    scale,
    notes,
    elapsedSeconds: (Date.now() - started) / 1000,
  };
  const markdown = renderReport(report);
  writeFileSync(fileURLToPath(new URL('./results.md', import.meta.url)), markdown);
  console.log(`\n${markdown}`);
}

await main();
