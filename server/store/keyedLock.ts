/**
 * A mutex per key, inside this process: `run(key, task)` starts `task` once
 * every task run earlier on the same key has settled. Tasks on different keys
 * never wait for each other. Idle keys hold no memory.
 *
 * It makes read-then-write sequences (compare, then set) atomic against each
 * other in one process, and nothing more: another process does not see it.
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const result = (this.#tails.get(key) ?? Promise.resolve()).then(task);
    // The next task waits for this one to settle, never for its outcome: a failed task releases the key too.
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Keys with a task running or waiting (for tests: an idle lock is empty). */
  get size(): number {
    return this.#tails.size;
  }
}
