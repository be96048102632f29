import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { KeyValueStore } from '../../server/store/keyValueStore.js';
import { startCheckerApps } from './checkerApps.js';
import { CLIENTS, describeOperation, type OperationKind, type OperationSpec, operationsArbitrary, perform, type World } from './operations.js';
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
  let runs = 0;
  try {
    const property = fc.asyncProperty(operationsArbitrary({ withDelete: options.withDelete ?? false, ...(options.kinds ? { kinds: options.kinds } : {}) }), fc.scheduler(), async (specs, scheduler) => {
      runs += 1;
      const result = await playOnce(apps, gate, specs, scheduler);
      lastTrace = result.trace;
      if (result.problems.length > 0) throw new Error(result.problems.join('\n'));
    });
    const details = await fc.check(property, {
      numRuns: options.numRuns,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.timeLimitMs === undefined ? {} : { interruptAfterTimeLimit: options.timeLimitMs }),
      endOnFailure: false,
      verbose: 0,
    });
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance ?? '');
    const message = details.failed ? `${fc.defaultReportMessage(details) ?? 'failed'}\n\nWhat the model found:\n${error}` : '';
    return { seed: details.seed, runs, failed: details.failed, message, trace: lastTrace };
  } finally {
    await apps.close();
  }
}

/** One run: a fresh user with three signed-in browsers, the operations played under `scheduler`, then the model's checks. */
export async function playOnce(apps: Awaited<ReturnType<typeof startCheckerApps>>, gate: StoreGate, specs: readonly OperationSpec[], scheduler: fc.Scheduler): Promise<RunResult> {
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
  const model = new SessionModel(world.cookies);

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
        const played: Played = { op, spec, start, end: gate.step, clockAtStart, clockAtEnd: apps.clock.now(), input, target, outcome };
        model.record(played);
      });
    });
    await gate.drive();
    await Promise.all(running);
  } finally {
    gate.end();
  }
  const problems = await model.violations(world, userId);
  return { problems, trace: [...gate.trace] };
}

function cookieOf(lines: string[]): string {
  const line = lines.find((l) => l.startsWith('sid='));
  if (!line) throw new Error('setup: no session cookie');
  return line.slice(4, line.indexOf(';'));
}
