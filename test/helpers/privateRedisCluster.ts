import { freePort } from './freePort.js';
import { PrivateRedis } from './privateRedis.js';
import { rawRedis } from './rawRedis.js';
import { eventually, info, untilReplicaLinked } from './replication.js';
import { run } from './run.js';

export interface PrivateRedisClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  password?: string;
  /** `cluster-node-timeout`: how long a master may be silent before its replica takes over (default 1000 ms). */
  nodeTimeoutMs?: number;
  /** Ports chosen beforehand (see `clusterUrlFor`), for a client started before the cluster. */
  ports?: readonly number[];
}

/** The `redis+cluster://` URL of nodes on these loopback ports. */
export const clusterUrlFor = (ports: readonly number[], password?: string) =>
  `redis+cluster://${password ? `default:${encodeURIComponent(password)}@` : ''}${ports.map((port) => `127.0.0.1:${port}`).join(',')}`;

/**
 * A Redis Cluster of the test's own: `masters × (1 + replicasPerMaster)`
 * `redis-server --cluster-enabled yes` on free loopback ports (and free
 * cluster-bus ports), joined with `redis-cli --cluster create`. Every node
 * keeps an append-only file synced on each write, so a node killed and
 * restarted comes back with what it acknowledged (a master restarted empty
 * would wipe its replica). Stops only its own processes, by pid.
 */
export class PrivateRedisCluster {
  readonly nodes: readonly PrivateRedis[];
  readonly password: string | undefined;

  private constructor(nodes: PrivateRedis[], password: string | undefined) {
    this.nodes = nodes;
    this.password = password;
  }

  static async start(options: PrivateRedisClusterOptions = {}): Promise<PrivateRedisCluster> {
    const { masters = 3, replicasPerMaster = 1, password, nodeTimeoutMs = 1_000, ports } = options;
    const count = masters * (1 + replicasPerMaster);
    const nodes: PrivateRedis[] = [];
    try {
      for (let i = 0; i < count; i += 1) {
        const busPort = await freePort();
        nodes.push(
          await PrivateRedis.start({
            ...(password ? { password } : {}),
            ...(ports?.[i] ? { port: ports[i] } : {}),
            args: () => [
              '--cluster-enabled', 'yes',
              '--cluster-config-file', 'nodes.conf',
              '--cluster-port', String(busPort),
              '--cluster-node-timeout', String(nodeTimeoutMs),
              '--appendonly', 'yes',
              '--appendfsync', 'always',
            ],
          }),
        );
      }
      const auth = password ? ['-a', password, '--no-auth-warning'] : [];
      const created = await run('redis-cli', [...auth, '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'], {
        timeoutMs: 60_000,
      });
      if (created.code !== 0) throw new Error(`redis-cli --cluster create failed:\n${created.stdout}\n${created.stderr}`);
      const cluster = new PrivateRedisCluster(nodes, password);
      await cluster.untilHealthy();
      return cluster;
    } catch (error) {
      await Promise.all(nodes.map((node) => node.destroy()));
      throw error;
    }
  }

  /** `redis+cluster://` with every node as a seed (and the password, if any). */
  get url(): string {
    return clusterUrlFor(
      this.nodes.map((node) => node.port),
      this.password,
    );
  }

  #live(): PrivateRedis[] {
    return this.nodes.filter((node) => node.running && !node.frozen);
  }

  /** A running node's answer to `command` (the first that answers). */
  async ask(command: string[]): Promise<unknown> {
    let last: unknown;
    for (const node of this.#live()) {
      try {
        const client = await rawRedis(node.url);
        try {
          return await client.command(command);
        } finally {
          await client.close();
        }
      } catch (error) {
        last = error;
      }
    }
    throw new Error(`no cluster node answered ${command.join(' ')}`, { cause: last });
  }

  /** Slot ranges and who serves them, as the cluster says now (`CLUSTER SLOTS`). */
  async #slots(): Promise<{ from: number; to: number; master: number; replicas: number[] }[]> {
    const slots = (await this.ask(['CLUSTER', 'SLOTS'])) as [number, number, [string, number, string], ...[string, number, string][]][];
    return slots.map(([from, to, master, ...replicas]) => ({ from, to, master: Number(master[1]), replicas: replicas.map((r) => Number(r[1])) }));
  }

  #byPort(port: number): PrivateRedis {
    const node = this.nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no node on port ${port}`);
    return node;
  }

  /** The master serving `key`'s slot now. */
  async masterOf(key: string): Promise<PrivateRedis> {
    const slot = Number(await this.ask(['CLUSTER', 'KEYSLOT', key]));
    const range = (await this.#slots()).find((r) => slot >= r.from && slot <= r.to);
    if (!range) throw new Error(`no master serves slot ${slot}`);
    return this.#byPort(range.master);
  }

  /** A key whose slot `master` serves now (to follow that slot range through a failover). */
  async keyServedBy(master: PrivateRedis): Promise<string> {
    for (let i = 0; i < 10_000; i += 1) if ((await this.masterOf(`probe:${i}`)) === master) return `probe:${i}`;
    throw new Error(`no key found on port ${master.port}`);
  }

  async masters(): Promise<PrivateRedis[]> {
    return [...new Set((await this.#slots()).map((r) => r.master))].map((port) => this.#byPort(port));
  }

  /**
   * Every slot is served by a running master, every node says
   * `cluster_state:ok`, and every running replica is in sync.
   */
  async untilHealthy(): Promise<void> {
    await eventually(async () => {
      const slots = await this.#slots();
      const covered = slots.reduce((sum, r) => sum + (r.to - r.from + 1), 0) === 16_384;
      if (!covered || slots.some((r) => !this.#byPort(r.master).running)) return false;
      for (const node of this.#live()) {
        if (!((await this.#clusterInfo(node)).includes('cluster_state:ok'))) return false;
        const replication = await info(node, 'replication');
        if (replication.get('role') === 'slave' && replication.get('master_link_status') !== 'up') return false;
      }
      return true;
    }, 'the cluster is healthy');
  }

  async #clusterInfo(node: PrivateRedis): Promise<string> {
    const client = await rawRedis(node.url);
    try {
      return (await client.command(['CLUSTER', 'INFO'])) as string;
    } finally {
      await client.close();
    }
  }

  /** Waits until a running replica has taken over `key`'s slot from `dead` and every node says the cluster is ok. */
  async untilFailedOver(key: string, dead: PrivateRedis): Promise<PrivateRedis> {
    let promoted: PrivateRedis | undefined;
    await eventually(async () => {
      const master = await this.masterOf(key);
      if (master === dead || !master.running) return false;
      for (const node of this.#live()) if (!(await this.#clusterInfo(node)).includes('cluster_state:ok')) return false;
      promoted = master;
      return true;
    }, `a replica took over from port ${dead.port}`);
    return promoted!;
  }

  /** The replicas of `master`, as the cluster says now. */
  async replicasOf(master: PrivateRedis): Promise<PrivateRedis[]> {
    const range = (await this.#slots()).find((r) => r.master === master.port);
    return (range?.replicas ?? []).map((port) => this.#byPort(port));
  }

  async untilReplicasLinked(): Promise<void> {
    for (const master of await this.masters()) for (const replica of await this.replicasOf(master)) await untilReplicaLinked(replica);
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.destroy()));
  }
}
