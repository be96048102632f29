import { type ClusterSlots, ClusterTopology } from './clusterTopology.js';
import { keepConnecting } from './keepConnecting.js';
import type { RedisClient, RedisCommands, RedisScanner } from './redisClient.js';

/** The slice of node-redis's `RedisCluster` this adapter uses (typed by hand, as `RedisClient` is). */
export interface NodeRedisCluster extends RedisCommands {
  readonly isOpen: boolean;
  readonly masters: readonly unknown[];
  /** The slot map: index = slot, a shard or nothing. */
  readonly slots: readonly unknown[];
  readonly _slots: ClusterSlots;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
  nodeClient(node: unknown): Promise<RedisScanner & { ping(): Promise<string> }>;
  on(event: 'error' | 'node-error', listener: (error: unknown) => void): unknown;
}

const SLOTS = 16_384;

/** A node-redis cluster client: it has a slot map. */
export const isNodeRedisCluster = (client: unknown): client is NodeRedisCluster =>
  typeof client === 'object' && client !== null && '_slots' in client && 'masters' in client && typeof (client as { nodeClient?: unknown }).nodeClient === 'function';

/**
 * A Redis Cluster as Gatehouse's `RedisClient`. Commands go to the node-redis
 * cluster client as they are (each touches one key, so one slot); on top:
 *
 * - the first connection is retried until it succeeds (`keepConnecting`),
 * - the slot map follows failovers (`ClusterTopology`): `suspect()` is
 *   called on every failed command and every node connection error,
 * - `ping()` asks every master, and fails while the slot map has a gap (a
 *   cluster still forming, or a map read mid-change), so `/healthz` is 503
 *   while any slot range has no reachable master (a third of the sessions,
 *   with three masters), not only when a randomly picked node fails to answer,
 * - `masters()` hands out each master's own client, since SCAN walks one
 *   node's keys only.
 *
 * @param seeds the URL's nodes as node-redis root nodes, with the socket timeout that bounds a reload
 */
export class ClusterRedisClient implements RedisClient {
  readonly #cluster: NodeRedisCluster;
  readonly #topology: ClusterTopology;
  readonly #listeners: ((error: unknown) => void)[] = [];
  #connected: Promise<void> | undefined;
  #closing = false;

  constructor(cluster: NodeRedisCluster, seeds: readonly unknown[]) {
    this.#cluster = cluster;
    this.#topology = new ClusterTopology({ slots: cluster._slots, seeds, isOpen: () => cluster.isOpen, onError: (error) => this.#emit(error) });
    cluster.on('error', (error) => this.#emit(error));
    cluster.on('node-error', (error) => {
      this.#emit(error);
      this.#topology.suspect();
    });
  }

  get isOpen(): boolean {
    return this.#cluster.isOpen;
  }

  get isReady(): boolean {
    return this.#cluster.isOpen;
  }

  on(_event: 'error', listener: (error: unknown) => void): this {
    this.#listeners.push(listener);
    return this;
  }

  #emit(error: unknown): void {
    for (const listener of this.#listeners) listener(error);
  }

  connect(): Promise<void> {
    this.#connected ??= keepConnecting(() => this.#cluster.connect(), { onError: (error) => this.#emit(error), stopped: () => this.#closing });
    return this.#connected;
  }

  suspect(): void {
    this.#topology.suspect();
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#topology.stop();
    if (this.#cluster.isOpen) await this.#cluster.close();
  }

  destroy(): void {
    this.#closing = true;
    this.#topology.stop();
    if (this.#cluster.isOpen) this.#cluster.destroy();
  }

  async ping(): Promise<string> {
    const { masters, slots } = this.#cluster;
    let mapped = 0;
    for (let slot = 0; slot < SLOTS; slot += 1) if (slots[slot] !== undefined) mapped += 1;
    if (masters.length === 0 || mapped < SLOTS) throw new Error(`the slot map covers ${mapped} of ${SLOTS} slots`);
    await Promise.all(masters.map(async (master) => (await this.#cluster.nodeClient(master)).ping()));
    return 'PONG';
  }

  /** The masters of the slot map as it is now: a walk that meets a failover may miss the keys of the master that moved. */
  masters(): Promise<RedisScanner[]> {
    return Promise.all(this.#cluster.masters.map((master) => this.#cluster.nodeClient(master)));
  }

  set: RedisCommands['set'] = (key, value, options) => this.#cluster.set(key, value, options);
  get: RedisCommands['get'] = (key) => this.#cluster.get(key);
  unlink: RedisCommands['unlink'] = (key) => this.#cluster.unlink(key);
  getDel: RedisCommands['getDel'] = (key) => this.#cluster.getDel(key);
  hDel: RedisCommands['hDel'] = (key, field) => this.#cluster.hDel(key, field);
  hGetAll: RedisCommands['hGetAll'] = (key) => this.#cluster.hGetAll(key);
  multi: RedisCommands['multi'] = () => this.#cluster.multi();
  eval: RedisCommands['eval'] = (script, options) => this.#cluster.eval(script, options);
}
