/**
 * The slice of a node-redis client (standalone, Cluster or Sentinel) that
 * Gatehouse uses. Typed by hand: node-redis's own generic client types are
 * heavy enough to exhaust the TypeScript checker.
 */
export interface RedisMulti {
  hSet(key: string, field: string, value: string): RedisMulti;
  pExpire(key: string, ms: number, mode?: 'NX' | 'GT'): RedisMulti;
  persist(key: string): RedisMulti;
  exec(): Promise<unknown[]>;
}

/** The data commands: each touches one key, so a cluster routes it to that key's slot. */
export interface RedisCommands {
  set(
    key: string,
    value: string,
    options: { condition?: 'NX' | 'XX'; expiration?: { type: 'PX'; value: number } },
  ): Promise<string | null>;
  get(key: string): Promise<string | null>;
  unlink(key: string): Promise<number>;
  getDel(key: string): Promise<string | null>;
  hDel(key: string, field: string): Promise<number>;
  hGetAll(key: string): Promise<Record<string, string>>;
  multi(): RedisMulti;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/** One server's `SCAN`: a step of a walk through that server's keys (`cursor` '0' starts it, a reply of '0' ends it). */
export interface RedisScanner {
  scan(cursor: string, options: { MATCH: string; COUNT: number }): Promise<{ cursor: string; keys: string[] }>;
}

export interface RedisClient extends RedisCommands {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  ping(): Promise<string>;
  /**
   * `SCAN` on the one server behind the client (a plain client, a Sentinel's
   * master). A cluster has none: its keys are split over its masters, see `masters`.
   */
  scan?: RedisScanner['scan'];
  /** A cluster: one scanner per master, which together walk every key. */
  masters?(): Promise<RedisScanner[]>;
  /** Told when a command failed or missed its deadline: a cluster reloads its slot map (see `ClusterTopology`). */
  suspect?(): void;
}
