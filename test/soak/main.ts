/**
 * `npm run soak [-- --short] [--seed=N] [--users=N] [--minutes=N]`: a chaos
 * soak of Gatehouse over real HTTP with figures (see the README's "Soak").
 * Not part of `npm test`; CI runs `--short`. Exits 1 if an invariant broke.
 */
import { availableParallelism } from 'node:os';
import { formatResult, passed } from './report.js';
import { redisSoak, type SoakResult } from './redisSoak.js';
import { sqliteCrash } from './sqliteCrash.js';

const args = new Map(process.argv.slice(2).map((arg) => [arg.replace(/^--/, '').split('=')[0]!, arg.split('=')[1] ?? 'true']));
const short = args.has('short');
const seed = Number(args.get('seed') ?? Date.now() % 1_000_000);
const users = Number(args.get('users') ?? (short ? 8 : 16));
const minutes = Number(args.get('minutes') ?? (short ? 1 : 5));
const kills = short ? 2 : 5;

const started = Date.now();
console.log(
  `soak ${short ? '--short ' : ''}--seed=${seed} --users=${users} --minutes=${minutes} · ${new Date().toISOString()} · Node ${process.version}, ${availableParallelism()} CPUs`,
);
const runs: [string, () => Promise<SoakResult>][] = [
  ['redis', () => redisSoak({ topology: 'redis', durationMs: minutes * 60_000, users, seed })],
  ['cluster', () => redisSoak({ topology: 'cluster', durationMs: minutes * 60_000, users, seed: seed + 1 })],
  ['sqlite full', () => sqliteCrash({ synchronous: 'full', kills, users, seed: seed + 2 })],
  ['sqlite normal', () => sqliteCrash({ synchronous: 'normal', kills, users, seed: seed + 3 })],
];
let ok = true;
for (const [, run] of runs) {
  const result = await run();
  console.log(`\n${formatResult(result, users)}`);
  ok &&= passed(result);
}
console.log(`\nsoak ${ok ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 60_000).toFixed(1)} min (seed ${seed})`);
process.exit(ok ? 0 : 1);
