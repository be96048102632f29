import { keepConnecting } from './keepConnecting.js';
import type { RedisClient, RedisCommands, RedisScanner } from './redisClient.js';

/** The slice of node-redis's `RedisSentinel` this adapter uses (typed by hand, as `RedisClient` is). */
export interface NodeRedisSentinel extends RedisCommands, RedisScanner {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): Promise<unknown>;
  ping(): Promise<string>;
  getMasterNode(): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
}

/** A node-redis Sentinel client: it knows a master node. */
export const isNodeRedisSentinel = (client: unknown): client is NodeRedisSentinel =>
  typeof client === 'object' && client !== null && typeof (client as { getMasterNode?: unknown }).getMasterNode === 'function';

/**
 * A Redis behind Sentinel as Gatehouse's `RedisClient`. node-redis asks the
 * sentinels for the master, follows `+switch-master`, and on a command to a
 * master that dropped its connection asks them again; Gatehouse adds the one
 * thing it lacks: when no sentinel answered (or none knew a master) in its
 * first 16 tries, node-redis gives up for good, so the first connection is
 * retried here until it succeeds (`keepConnecting`), after putting the
 * client back in a state where it may connect again (`destroy()`).
 */
export class SentinelRedisClient implements RedisClient {
  readonly #sentinel: NodeRedisSentinel;
  readonly #listeners: ((error: unknown) => void)[] = [];
  #connected: Promise<void> | undefined;
  #closing = false;

  constructor(sentinel: NodeRedisSentinel) {
    this.#sentinel = sentinel;
    sentinel.on('error', (error) => this.#emit(error));
  }

  get isOpen(): boolean {
    return this.#sentinel.isOpen;
  }

  get isReady(): boolean {
    return this.#sentinel.isReady;
  }

  on(_event: 'error', listener: (error: unknown) => void): this {
    this.#listeners.push(listener);
    return this;
  }

  #emit(error: unknown): void {
    for (const listener of this.#listeners) listener(error);
  }

  connect(): Promise<void> {
    this.#connected ??= keepConnecting(() => this.#sentinel.connect(), {
      onError: (error) => this.#emit(error),
      stopped: () => this.#closing,
      reset: async () => {
        await this.#sentinel.destroy();
      },
    });
    return this.#connected;
  }

  async close(): Promise<void> {
    this.#closing = true;
    if (this.#sentinel.isOpen) await this.#sentinel.close();
  }

  destroy(): void {
    this.#closing = true;
    void this.#sentinel.destroy().catch((error: unknown) => this.#emit(error));
  }

  ping: RedisClient['ping'] = () => this.#sentinel.ping();
  // On the master, every step: node-redis sends a read-only command to a replica only when given a
  // replicaPoolSize (Gatehouse's URL form never does), and a cursor is only good on the server that made it.
  scan: RedisScanner['scan'] = (cursor, options) => this.#sentinel.scan(cursor, options);
  set: RedisCommands['set'] = (key, value, options) => this.#sentinel.set(key, value, options);
  get: RedisCommands['get'] = (key) => this.#sentinel.get(key);
  unlink: RedisCommands['unlink'] = (key) => this.#sentinel.unlink(key);
  getDel: RedisCommands['getDel'] = (key) => this.#sentinel.getDel(key);
  hDel: RedisCommands['hDel'] = (key, field) => this.#sentinel.hDel(key, field);
  hGetAll: RedisCommands['hGetAll'] = (key) => this.#sentinel.hGetAll(key);
  multi: RedisCommands['multi'] = () => this.#sentinel.multi();
  eval: RedisCommands['eval'] = (script, options) => this.#sentinel.eval(script, options);
}
