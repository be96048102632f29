/**
 * `npx tsx bench/profile.ts [memory|redis|sqlite|koa-session|plain-trpc|shipped|shipped-bearer] [--seconds=10] [--seed=N] [--create]`
 * Profiles one stack's authenticated read (or, with --create, session creation) the way bench/PROFILE.md describes:
 * the server under `node --cpu-prof` on CPU 0, autocannon here on CPU 1,
 * a discarded warm-up, then a measured window. Prints the busy CPU per
 * request and the top self-time entries of that window (idle left out),
 * by function and by package, and leaves the .cpuprofile for a flame graph.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, signIn } from './measure.js';
import { type StackSpec, startStack } from './stackProcess.js';

const STACKS: Record<string, StackSpec> = {
  memory: { name: 'Gatehouse, memory', file: 'gatehouse.ts', env: { BENCH_STORE_URL: 'memory://' } },
  redis: { name: 'Gatehouse, Redis', file: 'gatehouse.ts', env: { BENCH_STORE_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/9' } },
  sqlite: { name: 'Gatehouse, SQLite', file: 'gatehouse.ts', env: { BENCH_STORE_URL: `sqlite://${join(tmpdir(), `gatehouse-profile-${process.pid}.sqlite`)}` } },
  'koa-session': { name: 'koa-session + Keyv memory', file: 'koaSession.ts' },
  'plain-trpc': { name: 'plain tRPC-on-Koa (koa-session)', file: 'plainTrpcKoa.ts' },
  shipped: { name: 'shipped server (npm start, memory)', file: 'shipped.ts' },
  'shipped-bearer': { name: 'shipped server, bearer token', file: 'shipped.ts', env: { BENCH_BEARER: '1' }, credential: 'bearer' },
};

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  endTime: number;
  startTime: number;
}

const args = process.argv.slice(2);
const which = args.find((a) => !a.startsWith('--')) ?? 'memory';
const seconds = Number(args.find((a) => a.startsWith('--seconds='))?.split('=')[1] ?? 10);
const workload = args.includes('--create') ? 'create' : 'read';
const seed = Number(args.find((a) => a.startsWith('--seed='))?.split('=')[1] ?? 0);
const spec = STACKS[which];
if (!spec) throw new Error(`unknown stack ${which}; one of ${Object.keys(STACKS).join(', ')}`);

execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-profile-'));
const stack = await startStack(spec, 0, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--max-old-space-size=8192']);
// --seed=N: N more sessions stored first (Gatehouse stacks), to profile a large store.
for (let done = 0; done < seed; done += 100_000) {
  const response = await fetch(`${stack.origin}/__bench/seed?n=${Math.min(100_000, seed - done)}`, { method: 'POST' });
  if (!response.ok) throw new Error(`seeding answered ${response.status}`);
}
if (seed > 0) await fetch(`${stack.origin}/__bench/heap`);
const cookie = await signIn(stack);
await load(stack, workload, cookie, 4);
const result = await load(stack, workload, cookie, seconds);
await stack.stop();

const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
if (!file) throw new Error(`no profile written in ${dir}`);
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
// Inclusive time of every function name (counted once per sample even when it recurses).
const inclusive = new Map<string, number>();

// Keep the samples of the measured window: the last `seconds` before the stop (plus the short shutdown).
let time = profile.startTime;
const times = profile.timeDeltas.map((delta) => (time += delta));
const windowStart = profile.endTime - (seconds + 0.3) * 1e6;
const self = new Map<string, number>();
const byPackage = new Map<string, number>();
let busy = 0;
profile.samples.forEach((id, index) => {
  if (times[index]! < windowStart) return;
  const frame = byId.get(id)!.callFrame;
  if (frame.functionName === '(idle)') return;
  const micros = profile.timeDeltas[index + 1] ?? 0;
  busy += micros;
  const where = frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(server|bench)\//, '$1/');
  const key = `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + micros);
  const pkg = frame.url.includes('node_modules/') ? frame.url.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1') : frame.url.startsWith('node:') ? 'node internals' : frame.url ? where.split('/').slice(0, 2).join('/') : frame.functionName;
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + micros);
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    const name = byId.get(at)!.callFrame.functionName;
    if (name && !seen.has(name)) {
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + micros);
    }
  }
});

const requests = result.rps * seconds;
const top = (map: Map<string, number>, count: number) =>
  [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, micros]) => `${((micros / busy) * 100).toFixed(1).padStart(5)} %  ${(micros / requests).toFixed(1).padStart(6)} µs/req  ${name}`)
    .join('\n');
console.log(`${spec.name}: ${Math.round(result.rps)} req/s, busy ${(busy / 1e6).toFixed(2)} s for ${Math.round(requests)} requests = ${(busy / requests).toFixed(0)} µs/req`);
console.log(`\nBy package (self time):\n${top(byPackage, 25)}`);
console.log(`\nBy function (self time):\n${top(self, Number(process.env.PROFILE_TOP ?? 45))}`);
console.log(`\nBy function (inclusive):\n${top(inclusive, Number(process.env.PROFILE_TOP ?? 60))}`);
console.log(`\nProfile: ${join(dir, file)}`);
