import type { FailoverSetup } from './endedSessionRounds.js';
import type { PrivateRedis } from './privateRedis.js';
import type { PrivateRedisCluster } from './privateRedisCluster.js';
import type { PrivateRedisSentinel } from './privateRedisSentinel.js';
import { rawRedis } from './rawRedis.js';
import { eventually, info, untilReplicaLinked } from './replication.js';
import { TcpProxy } from './tcpProxy.js';

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
    /**
     * The replica re-pointed at the master through a loopback proxy (a partial resync), which then stops
     * passing bytes; once the master is killed the proxy closes and drops what it held. (A replica stopped
     * with SIGSTOP would not lag: the kernel keeps receiving the stream into its socket for it.)
     */
    async lagReplicas(master) {
      const replicas = setup.servers.filter((server) => server !== master && server.running);
      const proxy = await TcpProxy.start({ host: '127.0.0.1', port: master.port });
      for (const replica of replicas) {
        const client = await rawRedis(replica.url);
        try {
          await client.command(['REPLICAOF', '127.0.0.1', String(proxy.port)]);
        } finally {
          await client.close();
        }
        await untilReplicaLinked(replica);
      }
      proxy.freeze();
      return () => proxy.stop();
    },
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
    /**
     * A cluster replica cannot be re-pointed (REPLICAOF is refused in cluster mode): its replicas are stopped
     * (SIGSTOP) instead and go on after the kill. The master still counts them, so WAIT times out; but the
     * kernel keeps receiving the stream for them, so they lose nothing: this round checks the 503, not a loss.
     */
    async lagReplicas(master) {
      const replicas = await cluster.replicasOf(master);
      for (const replica of replicas) replica.freeze();
      return async () => {
        for (const replica of replicas) replica.thaw();
      };
    },
  };
}
