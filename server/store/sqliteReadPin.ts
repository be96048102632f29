import { performance } from 'node:perf_hooks';
import type Database from 'better-sqlite3';

export interface SqliteReadPinOptions {
  /** How long the pin stays unused after another connection's commit was seen (ms). */
  readonly stepAsideMs?: number;
}

/** A second instance on the file usually writes again soon: a minute aside, renewed by each of its commits seen. */
export const DEFAULT_STEP_ASIDE_MS = 60_000;

/**
 * A second connection to the store's file that, at the store's first read
 * of an event-loop turn, takes a read transaction and holds it until the
 * loop's next check phase (a `setImmediate`: the end of this turn, or of
 * the next when the read itself ran in a check-phase callback, such as a
 * group commit's), so that the store's other reads meanwhile skip two
 * system calls each.
 *
 * Why it helps: in WAL mode every statement outside a transaction begins a
 * read transaction of its own (it must see every commit made before it, by
 * any process) by taking a shared lock on one of the WAL index's read
 * marks, and drops it when done: two `fcntl` calls, most of a lookup by
 * primary key (`npx tsx bench/sqliteLookup.ts`: about 7 µs alone, 2 µs with
 * the pin held). SQLite counts the shared locks the connections of one
 * process hold on one file and calls `fcntl` only for the first and the
 * last, so while the pin holds the read mark the store's statements take,
 * theirs are counted in memory. Under load a turn serves dozens of
 * requests; the pin costs its own two calls once per turn.
 *
 * What it does not change: each of the store's reads still begins its own
 * read transaction and reads the WAL index header afresh, so it sees every
 * commit made before it, by this process or another. The pin shares a
 * lock, never its snapshot: a logout committed by another instance or by
 * `npm run users` is seen by the next read, pin or no pin.
 *
 * What it could cost, and how it is kept from it: a reader holding an
 * older snapshot limits a checkpoint to the frames before it and keeps
 * writers from starting the WAL over. So the pin is never held across an
 * idle loop, it lets go before each of the store's commits, and once it
 * sees another connection commit (a second instance, `npm run users`;
 * the store's own commits do not count) it stays unused for `stepAsideMs`
 * after the last such commit seen: while others write, their checkpoints
 * wait for one of this process's turns at most. What it cannot help: a
 * process frozen in the middle of a turn (SIGSTOP, `docker pause`, a
 * debugger) holds its read mark until it runs again, and a busy process is
 * in a turn most of the time, so another process writing meanwhile grows
 * the WAL until then. Kill such a process rather than pause it, or open the
 * store with `sqlite://…?readPin=off`. Failing to take the pin (a busy
 * file) only leaves the reads at their usual cost; it never fails a store
 * operation.
 */
export class SqliteReadPin {
  readonly #pin: Database.Database;
  readonly #begin: Database.Statement;
  readonly #commit: Database.Statement;
  readonly #rollback: Database.Statement;
  /** Read on the pin's connection, it begins the read transaction that holds the mark. */
  readonly #pinRead: Database.Statement<[], number>;
  /**
   * On the store's connection: it changes when another connection commits (or truncates the WAL by a
   * checkpoint, which errs on the safe side), never for the store's own commits or checkpoints.
   */
  readonly #othersVersion: Database.Statement<[], number>;
  readonly #stepAsideMs: number;
  #holding = false;
  /** `#othersVersion` as last read; a change means another connection committed since. */
  #version: number | undefined;
  /** `performance.now()` until which the pin stays unused. */
  #asideUntil = 0;

  constructor(pin: Database.Database, store: Database.Database, options: SqliteReadPinOptions = {}) {
    this.#pin = pin;
    this.#stepAsideMs = options.stepAsideMs ?? DEFAULT_STEP_ASIDE_MS;
    this.#begin = pin.prepare('BEGIN');
    this.#commit = pin.prepare('COMMIT');
    this.#rollback = pin.prepare('ROLLBACK');
    this.#pinRead = pin.prepare<[], number>('PRAGMA data_version').pluck();
    this.#othersVersion = store.prepare<[], number>('PRAGMA data_version').pluck();
    this.#version = this.#readOthersVersion();
  }

  /** Whether the pin holds a read mark now. */
  get held(): boolean {
    return this.#holding;
  }

  /** Before a read of the store's outside a transaction: holds the pin until the end of this turn. */
  beforeRead(): void {
    if (this.#holding || !this.#pin.open) return;
    if (this.#asideUntil !== 0) {
      if (performance.now() < this.#asideUntil) return;
      // Aside time over: back only if nobody else committed meanwhile.
      if (this.#othersCommitted()) {
        this.#asideUntil = performance.now() + this.#stepAsideMs;
        return;
      }
      this.#asideUntil = 0;
    }
    try {
      this.#begin.run();
    } catch {
      return;
    }
    try {
      this.#pinRead.get();
    } catch {
      this.#end();
      return;
    }
    this.#holding = true;
    setImmediate(() => this.release());
  }

  /**
   * Lets go: at the end of the turn, and before a commit of the store's (so
   * that its checkpoint copies every frame). Steps aside if another
   * connection committed since the last look.
   */
  release(): void {
    if (!this.#holding) return;
    this.#holding = false;
    const othersCommitted = this.#othersCommitted();
    this.#end();
    if (othersCommitted) this.#asideUntil = performance.now() + this.#stepAsideMs;
  }

  #othersCommitted(): boolean {
    const before = this.#version;
    this.#version = this.#readOthersVersion();
    return this.#version === undefined || this.#version !== before;
  }

  #readOthersVersion(): number | undefined {
    try {
      return this.#othersVersion.get();
    } catch {
      return undefined;
    }
  }

  /** Ends the pin's read transaction; one that will not end closes the pin's connection rather than keep a snapshot. */
  #end(): void {
    if (!this.#pin.open || !this.#pin.inTransaction) return;
    try {
      this.#commit.run();
    } catch {
      try {
        this.#rollback.run();
      } catch {
        this.#pin.close();
      }
    }
  }

  close(): void {
    this.release();
    if (this.#pin.open) this.#pin.close();
  }
}
