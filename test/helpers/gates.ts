import type { PasswordHasher } from '../../server/accounts/passwordHasher.js';
import type { KeyValueStore } from '../../server/store/keyValueStore.js';

/**
 * A point where code under test can be held: arm it, start the request,
 * wait until the request is `held()` there, run the other request, then
 * `release()`. Races become deterministic, on every backend, with no sleep.
 */
export class Gate {
  #armed = 0;
  #blocked: (() => void)[] = [];
  #watchers: { count: number; resolve: () => void }[] = [];

  /** The next `times` callers of `pass()` block until `release()`. */
  arm(times = 1): this {
    this.#armed += times;
    return this;
  }

  /** How many callers are blocked here now. */
  get blocked(): number {
    return this.#blocked.length;
  }

  /** Resolves once `count` callers are blocked here. */
  held(count = 1): Promise<void> {
    if (this.#blocked.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#watchers.push({ count, resolve }));
  }

  /** Lets every blocked caller go on, and disarms the gate. */
  release(): void {
    this.#armed = 0;
    const blocked = this.#blocked;
    this.#blocked = [];
    for (const go of blocked) go();
  }

  /** Called by the instrumented code. */
  pass(): Promise<void> {
    if (this.#armed === 0) return Promise.resolve();
    this.#armed -= 1;
    return new Promise((resolve) => {
      this.#blocked.push(resolve);
      for (const watcher of [...this.#watchers]) {
        if (this.#blocked.length >= watcher.count) {
          this.#watchers.splice(this.#watchers.indexOf(watcher), 1);
          watcher.resolve();
        }
      }
    });
  }
}

/** The real hasher, with a gate before each `verify` (after the account was read) and each `hash`. */
export function gatedHasher(real: PasswordHasher, gates: { verify?: Gate; hash?: Gate }): PasswordHasher {
  return {
    async hash(password) {
      await gates.hash?.pass();
      return real.hash(password);
    },
    async verify(hash, password) {
      await gates.verify?.pass();
      return real.verify(hash, password);
    },
    verifyDummy: (password) => real.verifyDummy(password),
  };
}

type Method = 'compareAndSet' | 'mapSet' | 'get' | 'delete' | 'set' | 'add';

/**
 * The store with gates before chosen operations on keys that match, e.g.
 * `{ compareAndSet: { gate, key: /^ai:/ } }`: a password change held
 * between reading the account and writing it.
 */
export function gatedStore(real: KeyValueStore, gates: Partial<Record<Method, { gate: Gate; key?: RegExp }>>): KeyValueStore {
  return new Proxy(real, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const gated = gates[property as Method];
      if (!gated) return (value as (...args: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        if (!gated.key || gated.key.test(String(args[0]))) await gated.gate.pass();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
