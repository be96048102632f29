import type { RedisCommands } from './redisClient.js';
import type { ReplicaWait } from './replicaWait.js';
import { StoreUnavailableError, StoreUnconfirmedError } from './storeErrors.js';

/** A Redis server by address. */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/** A node-redis connection to one server, as a lane uses it. */
export interface LaneClient extends RedisCommands {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  destroy(): void;
  sendCommand(args: string[]): Promise<unknown>;
  on(event: 'error' | 'end', listener: (error?: unknown) => void): unknown;
}

export interface ReplicaWaitLanesOptions {
  readonly wait: ReplicaWait;
  /** The WAIT timeout when `wait` names none: the store timeout. */
  readonly defaultTimeoutMs: number;
  /** The master that owns `key` now (the one server; Sentinel's current master; the key's slot's master), or undefined while unknown. */
  masterOf(key: string): RedisAddress | undefined;
  /** A new, unconnected client to `address` that does not reconnect by itself (a lane is rebuilt on its master as it is then). */
  open(address: RedisAddress): LaneClient;
  onError?: ((error: unknown) => void) | undefined;
}

/** How long a master's replica count (`ROLE`) is trusted before it is asked again. */
const REPLICA_COUNT_TTL_MS = 1_000;

/**
 * Durable writes with `waitReplicas` (issue 21.3). `WAIT` has no key and
 * waits only for the writes made *on its own connection*, and it blocks
 * that connection until the replicas answer. So each master gets a lane: a
 * connection of its own that carries only durable writes and their `WAIT`s
 * (reads and other writes keep the store's usual connections, never queued
 * behind a `WAIT`). A durable write goes on the lane of the master that owns
 * its key, and is answered once a `WAIT` sent after it on that lane says
 * enough replicas have it. One `WAIT` at a time per lane, shared by every
 * write made since the previous one was sent (a burst of logouts costs one
 * round trip to the replicas, not one each); `WAIT` is never put inside a
 * `MULTI` or a script, where it would not block.
 *
 * `waitReplicas=all` asks the master how many replicas it has (`ROLE`, at
 * most once a second per lane): with two or more, a failover may promote
 * any of them, so every one must have the write. It waits for the most
 * replicas this process has seen linked to that master, not for those
 * linked now: a replica that is down, or dropped off the master (its link
 * closed, or silent past `repl-timeout`), is still waited for, so durable
 * writes answer 503 "not confirmed" until it is back, instead of quietly
 * being confirmed by fewer (fail closed). The count only grows, for as long
 * as the process runs: a replica removed for good keeps durable writes at
 * 503 until Gatehouse restarts.
 */
export class ReplicaWaitLanes {
  readonly #options: ReplicaWaitLanesOptions;
  readonly #lanes = new Map<string, Lane>();
  /** Per master (`host:port`), the most replicas `ROLE` has listed: kept across lanes, so a rebuilt lane does not forget one that is down. */
  readonly #mostReplicasSeen = new Map<string, number>();
  readonly timeoutMs: number;
  #closed = false;

  constructor(options: ReplicaWaitLanesOptions) {
    this.#options = options;
    this.timeoutMs = options.wait.timeoutMs ?? options.defaultTimeoutMs;
  }

  /** Runs `command` on the lane of the master owning `key` (already prefixed), then waits for its replicas. */
  async run<T>(operation: string, key: string, command: (redis: RedisCommands) => Promise<T>): Promise<T> {
    const lane = await this.#laneFor(operation, key);
    const written = command(lane.client);
    const acknowledged = lane.waitAfterWrites();
    const [value, { acked, wanted }] = await Promise.all([written, acknowledged]);
    // Made on the master all the same: the error carries its answer, for a flow to go on with (`confirmAtEnd`).
    if (acked < wanted) throw new StoreUnconfirmedError(operation, acked, wanted, value);
    return value;
  }

  /** How many lanes are open (one per master that took a durable write): for tests. */
  get size(): number {
    return this.#lanes.size;
  }

  /** The masters whose lanes are open, as `host:port`: for tests. */
  get addresses(): string[] {
    return [...this.#lanes.keys()];
  }

  close(): void {
    this.#closed = true;
    for (const lane of this.#lanes.values()) lane.drop();
    this.#lanes.clear();
  }

  async #laneFor(operation: string, key: string): Promise<Lane> {
    if (this.#closed) throw new StoreUnavailableError(operation, { cause: new Error('the store is closed') });
    const address = this.#options.masterOf(key);
    if (!address) throw new StoreUnavailableError(operation, { cause: new Error('no master is known for this key right now') });
    const name = `${address.host}:${address.port}`;
    let lane = this.#lanes.get(name);
    if (!lane || lane.dead) {
      const atLeastMostSeen = (linked: number) => {
        const most = Math.max(linked, this.#mostReplicasSeen.get(name) ?? 0);
        this.#mostReplicasSeen.set(name, most);
        return most;
      };
      lane = new Lane(this.#options.open(address), this.#options.wait.replicas, atLeastMostSeen, this.timeoutMs, (error) => {
        if (this.#lanes.get(name) === lane) this.#lanes.delete(name);
        if (error !== undefined) this.#options.onError?.(error);
      });
      this.#lanes.set(name, lane);
    }
    await lane.ready;
    return lane;
  }
}

/** One master's connection for durable writes, and the `WAIT` that follows the writes of each turn. */
class Lane {
  readonly client: LaneClient;
  readonly ready: Promise<unknown>;
  dead = false;
  readonly #replicas: 'all' | number;
  /** With `all`: the replicas to wait for, given those linked now (the most ever seen on this master). */
  readonly #replicasToWaitFor: (linked: number) => number;
  readonly #timeoutMs: number;
  readonly #onDead: (error: unknown) => void;
  #nextWait: Promise<{ acked: number; wanted: number }> | undefined;
  #inFlight: Promise<void> = Promise.resolve();
  #replicaCount: { count: number; at: number } | undefined;

  constructor(client: LaneClient, replicas: 'all' | number, replicasToWaitFor: (linked: number) => number, timeoutMs: number, onDead: (error: unknown) => void) {
    this.client = client;
    this.#replicas = replicas;
    this.#replicasToWaitFor = replicasToWaitFor;
    this.#timeoutMs = timeoutMs;
    this.#onDead = onDead;
    // A lane does not reconnect: the next durable write builds a new one, to whichever server is master then.
    client.on('error', (error) => this.#die(error));
    client.on('end', () => this.#die(undefined));
    this.ready = client.connect();
    this.ready.catch((error: unknown) => this.#die(error));
  }

  /**
   * The `WAIT` that follows the writes put on the lane so far: one at a
   * time, so the writes of this turn, and every write made while the
   * previous `WAIT` is still blocked, share the next one. A write thus waits
   * for two `WAIT`s at most, however many arrive while the replicas are
   * slow (one per turn would queue them one behind the other).
   */
  waitAfterWrites(): Promise<{ acked: number; wanted: number }> {
    this.#nextWait ??= (async () => {
      await Promise.resolve();
      await this.#inFlight;
      // Sent now: writes from here on belong to the one after it.
      this.#nextWait = undefined;
      const waited = this.#wait();
      this.#inFlight = waited.then(
        () => undefined,
        () => undefined,
      );
      return waited;
    })();
    return this.#nextWait;
  }

  async #wait(): Promise<{ acked: number; wanted: number }> {
    // A replica that went down is still waited for: waiting only for those linked now would confirm a write
    // that the one a failover promotes (back, behind) may lack.
    const wanted = this.#replicas === 'all' ? this.#replicasToWaitFor(await this.#linkedReplicas()) : this.#replicas;
    // No replica ever seen on this master: nothing a failover could promote lacks the write.
    if (wanted === 0) return { acked: 0, wanted };
    const acked = Number(await this.client.sendCommand(['WAIT', String(wanted), String(this.#timeoutMs)]));
    return { acked, wanted };
  }

  /** The replicas linked to the master now (`ROLE` lists those online), asked at most once a second. */
  async #linkedReplicas(): Promise<number> {
    const now = Date.now();
    if (this.#replicaCount && now - this.#replicaCount.at < REPLICA_COUNT_TTL_MS) return this.#replicaCount.count;
    const role = (await this.client.sendCommand(['ROLE'])) as unknown[];
    // A master: ['master', offset, [[ip, port, offset], …]]. A replica (demoted by a failover) takes no write anyway.
    const count = role[0] === 'master' && Array.isArray(role[2]) ? role[2].length : 0;
    this.#replicaCount = { count, at: now };
    return count;
  }

  #die(error: unknown): void {
    if (this.dead) return;
    this.dead = true;
    this.#onDead(error);
    this.drop();
  }

  drop(): void {
    this.dead = true;
    try {
      this.client.destroy();
    } catch {
      // Already closed.
    }
  }
}
