import { createHash, randomBytes } from 'node:crypto';
import { randomPool } from '../../server/session/randomPool.js';
import fc from 'fast-check';
import type { KeyValueStore } from '../../server/store/keyValueStore.js';
import { startCheckerApps } from './checkerApps.js';
import { storeKeyOf } from '../../server/session/sessionId.js';
import { CLIENTS, describeOperation, idOf, type OperationKind, type OperationSpec, operationsArbitrary, perform, type World } from './operations.js';
import { type Played, SessionModel } from './sessionModel.js';
import { StoreGate } from './storeGate.js';

const PASSWORD = 'correct horse battery';

export interface CheckerOptions {
  /** Two stores over one backend (two connections where it has connections; one shared object for memory). */
  stores: readonly [KeyValueStore, KeyValueStore];
  numRuns: number;
  seed?: number;
  /** Include account deletion (it ends the run's account for good, so it is rarer). */
  withDelete?: boolean;
  /** Only these kinds of operations (a focused search); default: all. */
  kinds?: readonly OperationKind[];
  /** Stop after this long (ms) and report how many runs passed. */
  timeLimitMs?: number;
}

export interface CheckerReport {
  seed: number;
  runs: number;
  failed: boolean;
  /** fast-check's own report on failure: the seed, the path, the shrunk operations and interleaving. */
  message: string;
  /** The store calls of the last run, in the order the scheduler let them run. */
  trace: readonly string[];
}

/** The outcome of one run: what the model found wrong, and the scheduled store calls in order. */
export interface RunResult {
  problems: string[];
  trace: string[];
  /** Each operation as it ran, in the order they finished. */
  played: Played[];
}

/**
 * Plays random interleavings of session operations (`operations.ts`) on two
 * Gatehouse instances over one backend, and checks each run against the
 * reference model (`sessionModel.ts`). fast-check's scheduler decides the
 * order of the operations' starts and of every store call; a failing run
 * is shrunk to fewer operations and a shorter interleaving, and printed
 * with the seed that replays it.
 */
export async function runChecker(options: CheckerOptions): Promise<CheckerReport> {
  const gate = new StoreGate();
  const apps = await startCheckerApps(options.stores, gate);
  let lastTrace: string[] = [];
  let failure: RunResult | undefined;
  let runs = 0;
  try {
    const property = fc.asyncProperty(operationsArbitrary({ withDelete: options.withDelete ?? false, ...(options.kinds ? { kinds: options.kinds } : {}) }), fc.scheduler(), async (specs, scheduler) => {
      runs += 1;
      const result = await playOnce(apps, gate, specs, scheduler);
      lastTrace = result.trace;
      if (result.problems.length === 0) return;
      // The smallest failing run seen (shrinking tries smaller ones after the first).
      if (!failure || result.trace.length <= failure.trace.length) failure = result;
      throw new Error(result.problems.join('\n'));
    });
    const details = await fc.check(property, {
      numRuns: options.numRuns,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.timeLimitMs === undefined ? {} : { interruptAfterTimeLimit: options.timeLimitMs }),
      endOnFailure: false,
      verbose: 0,
    });
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance ?? '');
    const message = details.failed
      ? `${fc.defaultReportMessage(details) ?? 'failed'}\n\nWhat the model found:\n${error}\n\nThe store calls of the smallest failing run, in the order the scheduler let them run:\n${failure?.trace.join('\n') ?? ''}\n\nIts operations:\n${failure?.played.map((p) => `op${p.op} ${describeOperation(p.spec)} [steps ${p.start}–${p.end}] → ${p.outcome.status} ${String(JSON.stringify(p.outcome.body)).slice(0, 200)}`).join('\n') ?? ''}`
      : '';
    return { seed: details.seed, runs, failed: details.failed, message, trace: failure?.trace ?? lastTrace };
  } finally {
    await apps.close();
  }
}

/**
 * One run: a fresh user with three signed-in browsers, the operations played
 * under `scheduler`, then the model's checks. Session ids are drawn from the
 * run's operations while it lasts (not the CSPRNG): backends that keep a
 * user's index sorted by id (SQLite, PostgreSQL) would otherwise walk it in
 * another order on a replay, and the seed would not replay.
 */
export async function playOnce(apps: Awaited<ReturnType<typeof startCheckerApps>>, gate: StoreGate, specs: readonly OperationSpec[], scheduler: fc.Scheduler): Promise<RunResult> {
  const random = randomPool.base64url;
  let drawn = 0;
  const salt = JSON.stringify(specs);
  randomPool.base64url = (length) => createHash('sha512').update(`${salt}#${(drawn += 1)}`).digest().subarray(0, length).toString('base64url');
  try {
    return await play(apps, gate, specs, scheduler);
  } finally {
    randomPool.base64url = random;
  }
}

async function play(apps: Awaited<ReturnType<typeof startCheckerApps>>, gate: StoreGate, specs: readonly OperationSpec[], scheduler: fc.Scheduler): Promise<RunResult> {
  const username = `u${randomBytes(5).toString('hex')}`;
  const world: World = { apps, username, cookies: [], password: PASSWORD };
  // The setup runs outside any operation: not scheduled.
  const register = await fetch(`${apps.instances[0].url}/trpc/auth.register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  if (register.status !== 200) throw new Error(`setup: register answered ${register.status}`);
  const userId = ((await register.json()) as { result: { data: { user: { id: string } } } }).result.data.user.id;
  world.cookies[0] = cookieOf(register.headers.getSetCookie());
  for (let client = 1; client < CLIENTS; client += 1) {
    const login = await fetch(`${apps.instances[client % 2]!.url}/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    world.cookies[client] = cookieOf(login.headers.getSetCookie());
  }
  const setupCookies = world.cookies.filter((cookie): cookie is string => cookie !== undefined);
  const model = new SessionModel(world.cookies);
  const played: Played[] = [];

  gate.begin(scheduler);
  try {
    const running = specs.map((spec, index) => {
      const op = index + 1;
      return gate.track(op, describeOperation(spec), async (start) => {
        const client = 'client' in spec ? spec.client : undefined;
        const input = client === undefined ? undefined : world.cookies[client];
        const target = spec.kind === 'revoke' ? world.cookies[spec.target] : undefined;
        const clockAtStart = apps.clock.now();
        const outcome = await perform(world, spec, op, input);
        if (client !== undefined && outcome.cookie !== undefined) world.cookies[client] = outcome.cookie ?? undefined;
        if (spec.kind === 'changePassword' && outcome.status === 200) world.password = `password of op ${op}`;
        const outcomePlayed: Played = { op, spec, start, end: gate.step, clockAtStart, clockAtEnd: apps.clock.now(), input, target, outcome };
        model.record(outcomePlayed);
        played.push(outcomePlayed);
      });
    });
    await gate.drive();
    await Promise.all(running);
  } finally {
    gate.end();
  }
  const entries = [...gate.entries];
  const problems = await model.violations(world, userId, entries);
  // Session ids repeat when a run is replayed (shrinking replays too): the run's session keys go, so the next starts clean.
  const keys = new Set([...setupCookies.map((cookie) => storeKeyOf(idOf(cookie))), ...entries.filter((entry) => entry.key.startsWith('s:')).map((entry) => entry.key)]);
  for (const key of keys) await apps.instances[0].gatehouse.store.delete(key);
  return { problems, trace: [...gate.trace], played };
}

function cookieOf(lines: string[]): string {
  const line = lines.find((l) => l.startsWith('sid='));
  if (!line) throw new Error('setup: no session cookie');
  return line.slice(4, line.indexOf(';'));
}

/**
 * Plays one generated run per seed twice over `stores` and says where the
 * two interleavings part, if they do: `[]` when every seed replays call for
 * call (the scheduler's choices, not the backend's timing, set the order).
 */
export async function replayDifferences(stores: readonly [KeyValueStore, KeyValueStore], seeds: readonly number[]): Promise<string[]> {
  const differences: string[] = [];
  for (const seed of seeds) {
    const traces: string[][] = [];
    // Each replay on instances of its own, as a replay with --seed runs: what a process remembers between
    // requests (which sessions' index entries it wrote lately) decides some store calls.
    for (let replay = 0; replay < 2; replay += 1) {
      const gate = new StoreGate();
      const apps = await startCheckerApps(stores, gate);
      try {
        const [specs, scheduler] = fc.sample(fc.tuple(operationsArbitrary({ withDelete: true }), fc.scheduler()), { numRuns: 1, seed })[0]!;
        traces.push((await playOnce(apps, gate, specs, scheduler)).trace);
      } finally {
        await apps.close();
      }
    }
    const [first, second] = traces as [string[], string[]];
    const at = first.findIndex((call, index) => call !== second[index]);
    if (at !== -1 || first.length !== second.length) {
      differences.push(`seed ${seed}: call ${at === -1 ? first.length : at + 1} was "${first[at] ?? '(none)'}", then "${second[at === -1 ? first.length : at] ?? '(none)'}"`);
    }
  }
  return differences;
}
