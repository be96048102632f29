/** Pause between two failed first connections: doubling from 50 ms, at most 1 s (the same as node-redis's reconnects here). */
export const backoffMs = (attempt: number) => Math.min(50 * 2 ** attempt, 1_000);

export interface KeepConnectingOptions {
  /** Told about every failed attempt (node-redis's own errors, for the logs). */
  onError: (error: unknown) => void;
  /** Checked before each attempt: true once the store is closing. */
  stopped: () => boolean;
  /** Puts a client whose first connection failed back into a state where `connect()` may be called again. */
  reset?: () => Promise<void>;
}

/**
 * Connects a Cluster or Sentinel client, trying again until it succeeds or
 * the store closes. node-redis retries a *lost* connection by itself, but a
 * cluster whose seeds were all unreachable at start, or a sentinel client
 * that found no master in its first 16 tries, gives up for good; Gatehouse
 * must start while the store is down (answering 503) and recover without a
 * restart (F1), as it does on a single Redis.
 *
 * @returns a promise that settles once connected (or stopped); never rejects.
 */
export async function keepConnecting(connect: () => Promise<unknown>, options: KeepConnectingOptions): Promise<void> {
  for (let attempt = 0; !options.stopped(); attempt += 1) {
    try {
      await connect();
      return;
    } catch (error) {
      options.onError(error);
      await options.reset?.().catch(options.onError);
      await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)).unref());
    }
  }
}
