/**
 * `npx tsx bench/gcPerRead.ts [sessions=1000] [node flags…]`: the garbage
 * collector's share of an authenticated read on the memory store, with
 * `sessions` stored. The server runs under `--trace-gc` on CPU 0, autocannon
 * here on CPU 1; after seeding and a 3 s warm-up, an 8 s window is measured.
 * Prints req/s, server CPU per request, and the collections in the window
 * with their pause time per request. How bench/PROFILE.md found that a large
 * heap made every scavenge slower.
 */
import { load, signIn } from './measure.js';
import { cpuSecondsOf } from './processCpu.js';
import { startStack } from './stackProcess.js';

const sessions = Number(process.argv[2] ?? 1_000);
const stack = await startStack({ name: 'Gatehouse, memory', file: 'gatehouse.ts', env: { BENCH_STORE_URL: 'memory://' } }, 0, [
  '--trace-gc',
  '--max-old-space-size=8192',
  ...process.argv.slice(3),
]);
let measuring = false;
const collections: string[] = [];
stack.child.stdout!.on('data', (chunk: Buffer) => {
  if (measuring) for (const line of chunk.toString().split('\n')) if (/ms: (Scavenge|Mark)/.test(line)) collections.push(line);
});
try {
  for (let done = 0; done < sessions; done += 100_000) {
    await fetch(`${stack.origin}/__bench/seed?n=${Math.min(100_000, sessions - done)}`, { method: 'POST' });
  }
  await fetch(`${stack.origin}/__bench/heap`);
  const cookie = await signIn(stack);
  await load(stack, 'read', cookie, 3);
  const seconds = 8;
  measuring = true;
  const cpuBefore = cpuSecondsOf(stack.child.pid)!;
  const result = await load(stack, 'read', cookie, seconds);
  const cpuAfter = cpuSecondsOf(stack.child.pid)!;
  measuring = false;
  const requests = result.rps * seconds;
  const pauseMs = collections.map((line) => Number(/MB, ([\d.]+) \//.exec(line)?.[1] ?? 0)).reduce((a, b) => a + b, 0);
  console.log(
    JSON.stringify({
      sessions,
      rps: Math.round(result.rps),
      cpuMicrosPerRead: Number((((cpuAfter - cpuBefore) / requests) * 1e6).toFixed(1)),
      collections: collections.length,
      scavenges: collections.filter((line) => line.includes('Scavenge')).length,
      gcMicrosPerRead: Number(((pauseMs * 1000) / requests).toFixed(2)),
    }),
  );
} finally {
  await stack.stop();
}
