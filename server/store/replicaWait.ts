import { parseDuration } from '../duration.js';

/**
 * `waitReplicas`: every durable write (`WriteOptions`) waits for replicas to
 * acknowledge it (Redis `WAIT`) before it is answered.
 */
export interface ReplicaWait {
  /**
   * `all`: the most replicas the master that took the write has been seen with (`ROLE`), so one that is down
   * is still waited for and the write answers "not confirmed"; or this many.
   */
  readonly replicas: 'all' | number;
  /** How long `WAIT` may block; `undefined`: the store timeout. Past it: `StoreUnconfirmedError` (503). */
  readonly timeoutMs: number | undefined;
}

/** The URL parameters a Redis store URL (plain, Cluster or Sentinel) takes for it. */
export const REPLICA_WAIT_PARAMS = ['waitReplicas', 'waitTimeout'] as const;

/**
 * Reads `waitReplicas=all|<n>` and `waitTimeout=<duration>` from a Redis URL's
 * query. `undefined`: the option is off (no `waitReplicas`). Calls `fail` with
 * the problem, as the rest of a sentence about the URL, for a value it cannot
 * use.
 *
 * @example parseReplicaWait(new URLSearchParams('waitReplicas=all&waitTimeout=500ms'), fail) // { replicas: 'all', timeoutMs: 500 }
 */
export function parseReplicaWait(params: URLSearchParams, fail: (problem: string) => never): ReplicaWait | undefined {
  for (const name of REPLICA_WAIT_PARAMS) {
    if (params.getAll(name).length > 1) fail(`has ${name} more than once`);
  }
  const replicas = params.get('waitReplicas');
  const timeout = params.get('waitTimeout');
  if (replicas === null) {
    if (timeout !== null) fail('has waitTimeout without waitReplicas (add waitReplicas=all to make security writes wait for the replicas)');
    return undefined;
  }
  let wanted: 'all' | number = 'all';
  if (replicas !== 'all') {
    if (!/^[1-9][0-9]{0,2}$/.test(replicas)) {
      fail(`has waitReplicas=${JSON.stringify(replicas).slice(1, -1)}, which is neither "all" nor a number of replicas from 1 (leave the parameter out to not wait)`);
    }
    wanted = Number(replicas);
  }
  let timeoutMs: number | undefined;
  if (timeout !== null) {
    timeoutMs = /^\s*\d+(?:\.\d+)?\s*$/.test(timeout) ? undefined : parseDuration(timeout);
    if (timeoutMs === undefined) fail(`has waitTimeout=${JSON.stringify(timeout).slice(1, -1)}, which is not a positive duration with its unit, like 500ms or 2s`);
  }
  return { replicas: wanted, timeoutMs };
}

/**
 * A plain `redis://` URL's replica wait, or `undefined`: the URL without the
 * parameters (node-redis ignores a query, but its other readers need not
 * see them), and the problem when one of them is unusable.
 */
export function plainRedisReplicaWait(url: string): { wait: ReplicaWait | undefined; url: string } | { problem: string } {
  const query = /^[^?#]*\?([^#]*)/.exec(url)?.[1];
  if (query === undefined) return { wait: undefined, url };
  const params = new URLSearchParams(query);
  let wait: ReplicaWait | undefined;
  try {
    wait = parseReplicaWait(params, (problem) => {
      throw new ReplicaWaitProblem(problem);
    });
  } catch (error) {
    if (error instanceof ReplicaWaitProblem) return { problem: error.message };
    throw error;
  }
  for (const name of REPLICA_WAIT_PARAMS) params.delete(name);
  const rest = params.toString();
  const stripped = url.replace(/\?[^#]*/, rest === '' ? '' : `?${rest}`);
  return { wait, url: stripped };
}

class ReplicaWaitProblem extends Error {}
