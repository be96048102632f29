import type { GatehouseProcess } from './gatehouseProcess.js';
import type { Ledger } from './ledger.js';
import { call } from './soakHttp.js';

const PROBE_EVERY_MS = 20;
/** A fault after which the service is not back within this long counts as unrecovered (the run then fails). */
const RECOVERY_LIMIT_MS = 60_000;

/**
 * A signed-in user that only watches: after a fault, how long until every
 * Gatehouse process answers `/healthz` with 200 and serves the probe's
 * session again. Its session is never ended, so a 401 is a lost session.
 */
export class Probe {
  readonly #fleet: readonly GatehouseProcess[];
  readonly #ledger: Ledger;
  readonly #username = `soak-probe-${process.pid}`;
  readonly #password = 'the probe password';
  #cookie = '';

  constructor(fleet: readonly GatehouseProcess[], ledger: Ledger) {
    this.#fleet = fleet;
    this.#ledger = ledger;
  }

  async signIn(): Promise<void> {
    for (let attempt = 0; attempt < 1_000; attempt += 1) {
      const server = this.#fleet[attempt % this.#fleet.length]!.url;
      const input = { username: this.#username, password: this.#password };
      const registered = await call(server, 'auth.register', { mutation: true, input });
      const answer = registered.outcome === 200 ? registered : await call(server, 'auth.login', { mutation: true, input });
      if (answer.outcome === 200 && answer.sid) {
        this.#cookie = `sid=${answer.sid}`;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the probe could not sign in');
  }

  /** Whether every process serves: `/healthz` 200 and the probe's `data` 200. */
  async #serving(): Promise<boolean> {
    const answers = await Promise.all(
      this.#fleet.flatMap((gatehouse) => [
        fetch(`${gatehouse.url}/healthz`, { signal: AbortSignal.timeout(5_000) }).then((res) => res.status, () => 0),
        call(gatehouse.url, 'data', { cookie: this.#cookie }).then((answer) => answer.outcome),
      ]),
    );
    if (answers.includes(401)) {
      this.#ledger.violate('lost', 'the probe’s session (never ended) was refused');
      await this.signIn();
      return false;
    }
    return answers.every((status) => status === 200);
  }

  /** ms from now until everything serves again (bounded polling); undefined if it never did within the limit. */
  async untilServing(): Promise<number | undefined> {
    const started = Date.now();
    while (Date.now() - started < RECOVERY_LIMIT_MS) {
      if (await this.#serving()) return Date.now() - started;
      await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS));
    }
    return undefined;
  }
}
