/**
 * `npx tsx bench/busyShare.ts [rounds=2] [--sqlite]`: which side sets the rate of an
 * authenticated read, koa-session (with --sqlite: Gatehouse on SQLite) against Gatehouse on memory. Each server
 * on CPU 0, autocannon here on CPU 1, a 3 s warm-up, then 8 s measured:
 * prints req/s, how busy the server was (its CPU time over the window) and
 * how busy the load generator was. A server near 100 % sets the rate; a
 * load generator near 100 % would mean the bench measures the client.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, signIn } from './measure.js';
import { cpuSecondsOf } from './processCpu.js';
import { type StackSpec, startStack } from './stackProcess.js';

const args = process.argv.slice(2);
const rounds = Number(args.find((arg) => !arg.startsWith('--')) ?? 2);
const sqlite = args.includes('--sqlite');
const SECONDS = 8;
execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-busy-'));
const specs: StackSpec[] = [
  sqlite
    ? { name: 'Gatehouse, SQLite', file: 'gatehouse.ts', env: { BENCH_STORE_URL: `sqlite://${join(scratch, 'busy.sqlite')}` } }
    : { name: 'koa-session + Keyv memory', file: 'koaSession.ts' },
  { name: 'Gatehouse, memory', file: 'gatehouse.ts', env: { BENCH_STORE_URL: 'memory://' } },
];
const percent = (busySeconds: number) => `${Math.round((busySeconds / SECONDS) * 100)} %`;

for (let round = 1; round <= rounds; round += 1) {
  for (const spec of specs) {
    const stack = await startStack(spec, 0);
    try {
      const cookie = await signIn(stack);
      await load(stack, 'read', cookie, 3);
      const serverBefore = cpuSecondsOf(stack.child.pid)!;
      const clientBefore = process.cpuUsage();
      const result = await load(stack, 'read', cookie, SECONDS);
      const server = cpuSecondsOf(stack.child.pid)! - serverBefore;
      const client = process.cpuUsage(clientBefore);
      console.log(
        `round ${round}, ${spec.name}: ${Math.round(result.rps).toLocaleString('en-US')} req/s, ` +
          `server busy ${percent(server)} (${((server / (result.rps * SECONDS)) * 1e6).toFixed(0)} µs/req), ` +
          `load generator busy ${percent((client.user + client.system) / 1e6)}`,
      );
    } finally {
      await stack.stop();
    }
  }
}
rmSync(scratch, { recursive: true, force: true });
