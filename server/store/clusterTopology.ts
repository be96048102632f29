/** The least time between two slot-map refreshes started by failures. */
const MIN_REFRESH_GAP_MS = 200;

/** The part of node-redis's cluster slot map that a refresh needs (`cluster._slots`). */
export interface ClusterSlots {
  rediscover(startWith: { options?: unknown }): Promise<void>;
}

/**
 * Keeps a node-redis cluster's slot map current through a failover.
 *
 * node-redis reloads the map only when a node answers MOVED or ASK
 * (redis/node-redis#2806). A master that dies answers nothing: the client
 * keeps sending its slots' commands to the dead address (every one failing)
 * even after the cluster has promoted the replica, until a restart. So every
 * failure is a hint: a command that failed or missed its deadline, or a
 * node's connection error, calls `suspect()`, and the map is reloaded — at
 * most one reload at a time, at least `MIN_REFRESH_GAP_MS` apart, starting
 * from each seed in turn. While the failover is still under way a reload
 * finds the old map and nothing changes; the first reload after the
 * promotion moves the slots to the new master and drops the dead one.
 *
 * The seeds carry a socket timeout (the store timeout), so a reload that
 * asks a frozen node gives up on it instead of waiting forever — node-redis
 * would otherwise hold every later reload, MOVED ones included, behind it.
 */
export class ClusterTopology {
  readonly #slots: ClusterSlots;
  readonly #seeds: readonly unknown[];
  readonly #isOpen: () => boolean;
  readonly #onError: (error: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #lastStart = 0;
  #nextSeed = 0;
  #stopped = false;

  constructor(options: { slots: ClusterSlots; seeds: readonly unknown[]; isOpen: () => boolean; onError: (error: unknown) => void }) {
    this.#slots = options.slots;
    this.#seeds = options.seeds;
    this.#isOpen = options.isOpen;
    this.#onError = options.onError;
  }

  /** Something failed: reload the slot map soon, unless a reload is already pending or running. */
  suspect(): void {
    if (this.#stopped || this.#timer !== undefined || this.#seeds.length === 0 || !this.#isOpen()) return;
    const wait = Math.max(0, this.#lastStart + MIN_REFRESH_GAP_MS - Date.now());
    this.#timer = setTimeout(() => void this.#refresh(), wait);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #refresh(): Promise<void> {
    this.#lastStart = Date.now();
    const seed = this.#seeds[this.#nextSeed++ % this.#seeds.length];
    try {
      if (!this.#stopped && this.#isOpen()) await this.#slots.rediscover({ options: seed });
    } catch (error) {
      this.#onError(error);
    } finally {
      // Cleared only now: failures during the reload do not queue another one behind it.
      this.#timer = undefined;
    }
  }
}
