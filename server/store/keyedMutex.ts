/**
 * Serialises async critical sections per key inside one process — and only
 * there: another process is not held back. Anything that must be atomic
 * across instances belongs in a store operation (`compareAndSet`,
 * `addToCounter`), which every backend makes atomic by itself.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, critical: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const current = previous.then(critical, critical);
    const tail = current.catch(() => undefined);
    this.#tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
