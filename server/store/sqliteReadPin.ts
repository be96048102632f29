import type Database from 'better-sqlite3';

export interface SqliteReadPinOptions {
  /** How often the pin takes the newest snapshot and looks for other processes' commits. */
  readonly renewMs?: number;
  /** How long the pin stays released after it saw another process commit. */
  readonly stepAsideMs?: number;
}

export const DEFAULT_RENEW_MS = 50;
export const DEFAULT_STEP_ASIDE_MS = 1_000;

/**
 * A second connection to the store's file that holds a read transaction
 * open, so that the store's own reads skip two system calls each.
 *
 * Why it helps: in WAL mode every statement outside a transaction begins a
 * read transaction of its own (it must see every commit made before it, by
 * any process) by taking a shared lock on one of the WAL index's read
 * marks, and drops it when done: two `fcntl` calls, most of a lookup by
 * primary key (`npx tsx bench/sqliteLookup.ts`: 5–6 µs alone, under 1 µs
 * with the pin). SQLite counts the shared locks that the connections of
 * one process hold on one file and calls `fcntl` only for the first and
 * the last, so while the pin holds the read mark the store's statements
 * take, theirs are counted in memory.
 *
 * What it does not change: each of the store's reads still begins its own
 * read transaction and reads the WAL index header afresh, so it sees every
 * commit made before it, by this process or another. The pin shares a
 * lock, never its snapshot: a logout committed by another instance or by
 * `npm run users` is seen by the next read, pin or no pin.
 *
 * What it would cost, and how it is kept from it: a reader holding a
 * snapshot stops a checkpoint from copying the frames after it back into
 * the database, and stops writers from starting the WAL over, so a pin
 * held for good would let the WAL grow. Hence: it lets go before each of
 * the store's own commits (which run the automatic checkpoint) and takes
 * the newest snapshot after; and it renews every `renewMs`, and when it
 * finds that another process committed since (a second instance, the
 * users CLI), it stays released for `stepAsideMs` and for as long as
 * such commits go on — with other writers on the file the reads cost what
 * they cost without a pin, and their checkpoints are never held back by
 * more than one renewal. Failing to take the pin (a busy file) only leaves
 * it released; it never fails a store operation.
 */
export class SqliteReadPin {
  readonly #db: Database.Database;
  readonly #dataVersion: Database.Statement<[], number>;
  readonly #stepAsideMs: number;
  readonly #timer: NodeJS.Timeout;
  /** `PRAGMA data_version` as last seen: it changes when any other connection (the store's own included) commits. */
  #version: number | undefined;
  /** Epoch ms until which the pin stays released, after another process's commit. */
  #asideUntil = 0;

  constructor(db: Database.Database, options: SqliteReadPinOptions = {}) {
    this.#db = db;
    this.#stepAsideMs = options.stepAsideMs ?? DEFAULT_STEP_ASIDE_MS;
    // Reading it begins the read transaction that holds the pin, and tells whether others committed.
    this.#dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
    this.#timer = setInterval(() => this.#tick(), options.renewMs ?? DEFAULT_RENEW_MS).unref();
    this.afterCommit();
  }

  /** Whether the pin holds a snapshot now. */
  get held(): boolean {
    return this.#db.open && this.#db.inTransaction;
  }

  /** Lets go, before a commit of the store's, so that its checkpoint can copy every frame. */
  release(): void {
    if (!this.held) return;
    try {
      this.#db.exec('COMMIT');
    } catch {
      // Ending a read transaction loses nothing; one that will not end is closed by close().
    }
  }

  /** After a commit of the store's (which changed the version itself): takes the newest snapshot, judging nothing. */
  afterCommit(): void {
    this.release();
    if (!this.#db.open) return;
    // Aside, the version is still re-read, so that the next look does not take this commit for another process's.
    if (Date.now() < this.#asideUntil) this.#read();
    else this.#hold();
  }

  /** The renewal: takes the newest snapshot, unless another process committed since the last look. */
  #tick(): void {
    this.release();
    if (!this.#db.open) return;
    const before = this.#version;
    if (Date.now() < this.#asideUntil) {
      // Released: look without holding, and stay aside while the other writer goes on.
      if (this.#read() !== before) this.#asideUntil = Date.now() + this.#stepAsideMs;
      return;
    }
    this.#hold();
    if (this.#version !== before) {
      // Someone else wrote (this store's commits re-read the version right after): make room for them.
      this.#asideUntil = Date.now() + this.#stepAsideMs;
      this.release();
    }
  }

  #hold(): void {
    if (!this.#db.open) return;
    try {
      this.#db.exec('BEGIN');
    } catch {
      return;
    }
    if (this.#read() === undefined) this.release();
  }

  #read(): number | undefined {
    try {
      this.#version = this.#dataVersion.get();
    } catch {
      // A busy file (another process recovering the WAL): no version, so the next look counts as a change.
      this.#version = undefined;
    }
    return this.#version;
  }

  close(): void {
    clearInterval(this.#timer);
    this.release();
    if (this.#db.open) this.#db.close();
  }
}
