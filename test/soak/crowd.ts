import type { Random } from './random.js';
import type { VirtualUser } from './virtualUser.js';

/** Pause between two actions of one user: 0–40 ms, so the processes under test keep some of the machine's two cores. */
const THINK_MS = 40;

/**
 * The virtual users, each acting in its own loop until stopped. `stop()`
 * waits for every action in flight, so the users' knowledge is settled
 * before a verification; `start()` runs them again.
 */
export class Crowd {
  readonly users: readonly VirtualUser[];
  readonly #random: Random;
  #running: Promise<void>[] = [];
  #stopped = true;

  constructor(users: readonly VirtualUser[], random: Random) {
    this.users = users;
    this.#random = random;
  }

  /** Registers every user (retrying through outages). */
  async signUp(): Promise<void> {
    await Promise.all(this.users.map((user) => user.start(() => false)));
  }

  start(): void {
    this.#stopped = false;
    this.#running = this.users.map(async (user) => {
      while (!this.#stopped) {
        await user.step();
        await new Promise((resolve) => setTimeout(resolve, this.#random.between(0, THINK_MS)));
      }
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#running);
  }

  /** With the users stopped: every one checks all it knows. Resolves the number of sessions checked. */
  async verify(): Promise<number> {
    let checked = 0;
    for (const user of this.users) checked += await user.verify();
    return checked;
  }
}
