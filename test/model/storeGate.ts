import { AsyncLocalStorage } from 'node:async_hooks';
import type fc from 'fast-check';
import type { KeyValueStore } from '../../server/store/keyValueStore.js';

/** The operation a store call belongs to (set by the checker's middleware from a request header, or around a direct call). */
export const currentOperation = new AsyncLocalStorage<number>();

/** One store call (or an operation's start) as the scheduler let it run. */
export interface TraceEntry {
  readonly op: number;
  /** The store method, or `start`. */
  readonly method: string;
  /** The store key it named (without namespace), or the operation's description for a start. */
  readonly key: string;
}

interface ParkedCall {
  readonly op: number;
  /** The call's number within its operation: parked calls are offered to the scheduler in (op, seq) order. */
  readonly seq: number;
  readonly label: string;
  readonly entry: TraceEntry;
  readonly go: () => void;
}

/** Store methods that run against the backend and are interleaved; the rest pass through. */
const GATED = new Set(['get', 'set', 'add', 'replace', 'compareAndSet', 'delete', 'take', 'addToCounter', 'mapSet', 'mapDelete', 'mapGetAll', 'sweepExpired']);

/**
 * Puts fast-check's scheduler between the session layer and a real store:
 * every store call of an operation waits until the scheduler picks it,
 * then runs against the backend (real I/O), one at a time.
 *
 * Real stores answer on later turns of the event loop (a socket, SQLite's
 * batched commit), so the scheduler must not choose by timing: the driver
 * offers it a choice only when no store call is running and every live
 * operation is parked at its next call (or done), and offers the parked
 * calls in a canonical order (operation, then call number). The same seed
 * then picks the same calls in the same order, whatever the backend's
 * latency: a seed replays.
 */
export class StoreGate {
  #scheduler: fc.Scheduler | undefined;
  #executing = 0;
  #parked: ParkedCall[] = [];
  readonly #sequence = new Map<number, number>();
  /** Labels abstracting store keys, numbered in order of first use (so reports do not carry random ids). */
  readonly #aliases = new Map<string, string>();
  /** The operations of the run and whether each has finished. */
  #operations = new Map<number, boolean>();
  /** The calls in the order the scheduler let them run: `trace[i]` ran at step i + 1. */
  readonly trace: string[] = [];
  readonly entries: TraceEntry[] = [];

  /** Starts a run: calls of operations are scheduled by `scheduler` until `end()`. */
  begin(scheduler: fc.Scheduler): void {
    this.#scheduler = scheduler;
    this.#operations = new Map();
    this.#sequence.clear();
    this.#aliases.clear();
    this.trace.length = 0;
    this.entries.length = 0;
  }

  end(): void {
    this.#scheduler = undefined;
    for (const call of this.#parked.splice(0)) call.go();
  }

  /**
   * Registers an operation: it starts when the scheduler picks its start
   * (so operations begin in any order, not all at once), then each of its
   * store calls is scheduled. `run` gets the step at which it started.
   */
  track<T>(op: number, label: string, run: (startStep: number) => Promise<T>): Promise<T> {
    this.#operations.set(op, false);
    const done = currentOperation.run(op, async () => {
      await this.#park(op, `start ${label}`, { op, method: 'start', key: label });
      return run(this.trace.length);
    });
    return done.finally(() => this.#operations.set(op, true));
  }

  /** How many scheduler picks have run so far: the checker's logical time. */
  get step(): number {
    return this.trace.length;
  }

  /** `store`, with every call of a tracked operation waiting for the scheduler. */
  wrap(store: KeyValueStore, instance: string): KeyValueStore {
    return new Proxy(store, {
      get: (target, property) => {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        const method = value as (...args: unknown[]) => Promise<unknown>;
        if (!GATED.has(String(property))) return method.bind(target);
        return async (...args: unknown[]) => {
          const op = currentOperation.getStore();
          if (this.#scheduler !== undefined && op !== undefined && this.#operations.has(op)) {
            await this.#park(op, `${instance}.${String(property)}(${this.#alias(String(args[0]))})`, { op, method: String(property), key: String(args[0]) });
          }
          this.#executing += 1;
          try {
            return await method.apply(target, args);
          } finally {
            this.#executing -= 1;
          }
        };
      },
    });
  }

  /**
   * Drives a run to its end: waits until the calls in flight are back and
   * every live operation is parked, offers the newly parked calls to the
   * scheduler in canonical order, lets it release one, and so on.
   */
  async drive(): Promise<void> {
    const scheduler = this.#scheduler!;
    for (;;) {
      await this.#settled();
      const fresh = this.#parked.splice(0).sort((a, b) => a.op - b.op || a.seq - b.seq);
      for (const call of fresh) void scheduler.schedule(Promise.resolve(call.label), call.label).then(() => call.go());
      if (scheduler.count() === 0) {
        if ([...this.#operations.values()].every(Boolean)) return;
        throw new Error(`stuck: operations ${[...this.#operations].filter(([, done]) => !done).map(([op]) => op).join(', ')} are neither parked nor done`);
      }
      await scheduler.waitNext(1);
    }
  }

  #park(op: number, label: string, entry: TraceEntry): Promise<void> {
    const seq = (this.#sequence.get(op) ?? 0) + 1;
    this.#sequence.set(op, seq);
    return new Promise((resolve) =>
      this.#parked.push({
        op,
        seq,
        label: `op${op}#${seq} ${label}`,
        entry,
        go: () => {
          this.trace.push(`op${op}#${seq} ${label}`);
          this.entries.push(entry);
          resolve();
        },
      }),
    );
  }

  /** Resolves once nothing runs: no store call in flight, and every unfinished operation parked at a call. */
  async #settled(): Promise<void> {
    let quietTurns = 0;
    for (let turn = 0; quietTurns < 3; turn += 1) {
      await new Promise((resolve) => setImmediate(resolve));
      const parkedOps = new Set(this.#parked.map((call) => call.op));
      const scheduledOps = this.#scheduledOps();
      const running = [...this.#operations].some(([op, done]) => !done && !parkedOps.has(op) && !scheduledOps.has(op));
      quietTurns = this.#executing === 0 && !running ? quietTurns + 1 : 0;
      // An operation can be busy outside the store for a while (an HTTP round trip, a password hash): wait on a timer then.
      if (turn > 50 && quietTurns === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      if (turn > 200_000) throw new Error('the run never settled');
    }
  }

  /** Operations with a call already offered to the scheduler (waiting for its pick). */
  #scheduledOps(): Set<number> {
    const ops = new Set<number>();
    for (const item of this.#scheduler?.report() ?? []) {
      if (item.status === 'pending') ops.add(Number(/^op(\d+)#/.exec(item.label)?.[1]));
    }
    return ops;
  }

  #alias(key: string): string {
    const shape = key.replace(/[0-9a-f]{8}-[0-9a-f-]{27,}/g, '…').replace(/[A-Za-z0-9_-]{8,}/g, '…');
    const known = this.#aliases.get(key);
    if (known) return known;
    const alias = `${shape}#${this.#aliases.size + 1}`;
    this.#aliases.set(key, alias);
    return alias;
  }
}
