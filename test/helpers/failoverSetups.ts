import type { FailoverSetup } from './endedSessionRounds.js';
import type { PrivateRedis } from './privateRedis.js';
import type { PrivateRedisCluster } from './privateRedisCluster.js';
import type { PrivateRedisSentinel } from './privateRedisSentinel.js';
import { eventually, info, untilReplicaLinked } from './replication.js';

/** Rounds on a Sentinel setup: the master the sentinels name is killed; it comes back as the new master's replica. */
export function sentinelFailoverSetup(setup: PrivateRedisSentinel): FailoverSetup {
  return {
    masterToKill: () => setup.master(),
    untilFailedOver: (old) => setup.untilFailedOver(old),
    async rejoin(old) {
      await old.restart();
      await eventually(async () => (await info(old, 'replication')).get('role') === 'slave', 'the old master rejoined as a replica');
      await untilReplicaLinked(old);
      await setup.untilSettled();
    },
    replicasOf: async (master) => setup.servers.filter((server) => server !== master && server.running),
  };
}

/** Rounds on a Cluster: each round kills another master (round robin); it comes back as its successor's replica. */
export function clusterFailoverSetup(cluster: PrivateRedisCluster): FailoverSetup {
  const keyOf = new Map<PrivateRedis, string>();
  return {
    async masterToKill(round) {
      const masters = await cluster.masters();
      const master = masters[round % masters.length]!;
      keyOf.set(master, await cluster.keyServedBy(master));
      return master;
    },
    untilFailedOver: (old) => cluster.untilFailedOver(keyOf.get(old)!, old),
    async rejoin(old) {
      await old.restart();
      await cluster.untilHealthy();
      await cluster.untilReplicasLinked();
    },
    replicasOf: (master) => cluster.replicasOf(master),
  };
}
