import type { PrivateRedis } from '../helpers/privateRedis.js';
import type { PrivateRedisCluster } from '../helpers/privateRedisCluster.js';
import { pauseWritesUntilReplicated, unpause } from '../helpers/replication.js';
import type { GatehouseProcess } from './gatehouseProcess.js';
import type { Probe } from './probe.js';
import type { Random } from './random.js';

/** What one injected fault did, and how long the service took to serve again after the store (or process) came back. */
export interface FaultRecord {
  readonly kind: string;
  /** ms since the run started, when the fault began. */
  readonly at: number;
  /** How long the fault was held (frozen, down), ms. */
  readonly heldMs: number;
  /** From the store's (or the process's) return to every process serving the probe again, ms; undefined: never within the limit. */
  readonly recoveredMs: number | undefined;
  readonly note?: string;
}

export interface Fault {
  readonly kind: string;
  inject(): Promise<FaultRecord>;
}

const hold = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface FaultContext {
  random: Random;
  probe: Probe;
  /** ms since the run started. */
  now: () => number;
}

/** Kill -9 one Gatehouse process, keep it down a moment, start it again on its port. */
export function killGatehouse(fleet: readonly GatehouseProcess[], { random, probe, now }: FaultContext): Fault {
  return {
    kind: 'kill -9 a Gatehouse process',
    async inject() {
      const victim = random.pick(fleet);
      const at = now();
      const heldMs = random.between(200, 2_000);
      await victim.kill();
      await hold(heldMs);
      await victim.restart();
      return { kind: this.kind, at, heldMs, recoveredMs: await probe.untilServing(), note: `port ${victim.port}` };
    },
  };
}

/** SIGSTOP the single Redis (TCP up, no answers), then SIGCONT. */
export function freezeRedis(redis: PrivateRedis, { random, probe, now }: FaultContext): Fault {
  return {
    kind: 'freeze the store (SIGSTOP/SIGCONT)',
    async inject() {
      const at = now();
      const heldMs = random.between(500, 4_000);
      redis.freeze();
      await hold(heldMs);
      redis.thaw();
      return { kind: this.kind, at, heldMs, recoveredMs: await probe.untilServing() };
    },
  };
}

/** Kill -9 the single Redis and start it again from its append-only file (synced on every write). */
export function killRedis(redis: PrivateRedis, { random, probe, now }: FaultContext): Fault {
  return {
    kind: 'kill -9 the store, restart it',
    async inject() {
      const at = now();
      const heldMs = random.between(200, 3_000);
      await redis.kill();
      await hold(heldMs);
      await redis.restart();
      return { kind: this.kind, at, heldMs, recoveredMs: await probe.untilServing() };
    },
  };
}

/**
 * Kill -9 a cluster master after every acknowledged write reached its
 * replica (writes paused, offsets equal: see `pauseWritesUntilReplicated`),
 * wait for the replica to take over, measure from the promotion, then start
 * the old master again (it rejoins as a replica).
 */
export function killClusterMaster(cluster: PrivateRedisCluster, { random, probe, now }: FaultContext): Fault {
  return {
    kind: 'kill -9 a cluster master (failover)',
    async inject() {
      const victim = random.pick(await cluster.masters());
      const key = await cluster.keyServedBy(victim);
      await pauseWritesUntilReplicated(victim);
      const at = now();
      await victim.kill();
      const promoted = await cluster.untilFailedOver(key, victim);
      const heldMs = now() - at;
      const recoveredMs = await probe.untilServing();
      await victim.restart();
      await cluster.untilHealthy();
      return { kind: this.kind, at, heldMs, recoveredMs, note: `port ${victim.port} → ${promoted.port}` };
    },
  };
}

/**
 * SIGSTOP a cluster master (writes paused and replicated first, so a
 * failover during the freeze loses nothing acknowledged) for up to 4 s: a
 * short freeze passes unnoticed by the cluster, a long one makes the replica
 * take over and the thawed master a replica. Measured from the thaw.
 */
export function freezeClusterMaster(cluster: PrivateRedisCluster, { random, probe, now }: FaultContext): Fault {
  return {
    kind: 'freeze a cluster master (SIGSTOP/SIGCONT)',
    async inject() {
      const victim = random.pick(await cluster.masters());
      await pauseWritesUntilReplicated(victim);
      const at = now();
      const heldMs = random.between(300, 4_000);
      victim.freeze();
      await hold(heldMs);
      victim.thaw();
      await unpause(victim).catch(() => undefined);
      const recoveredMs = await probe.untilServing();
      await cluster.untilHealthy();
      const demoted = !(await cluster.masters()).includes(victim);
      return { kind: this.kind, at, heldMs, recoveredMs, note: demoted ? 'failed over' : 'no failover' };
    },
  };
}

/** Injects a random fault, then lets the system run calm for 2–6 s, until `done()`. */
export async function injectUntil(faults: readonly Fault[], random: Random, done: () => boolean): Promise<FaultRecord[]> {
  const records: FaultRecord[] = [];
  while (!done()) {
    await hold(random.between(2_000, 6_000));
    if (done()) break;
    records.push(await random.pick(faults).inject());
  }
  return records;
}
