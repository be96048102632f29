import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './freePort.js';
import { own } from './ownedProcesses.js';
import { PrivateRedis } from './privateRedis.js';
import { rawRedis } from './rawRedis.js';
import { eventually, info, untilReplicaLinked } from './replication.js';

export interface PrivateRedisSentinelOptions {
  sentinels?: number;
  /** The Redis servers' password (`requirepass`/`masterauth`, and the sentinels' `auth-pass`). */
  password?: string;
  /** The sentinels' own password (`requirepass` and `sentinel-pass` on each sentinel). */
  sentinelPassword?: string;
  /** `down-after-milliseconds`: how long the master may be silent before the sentinels call it down (default 1000). */
  downAfterMs?: number;
}

export const MASTER_NAME = 'gatehouse';

/** One `redis-server --sentinel` process of the test's own. */
class SentinelProcess {
  readonly port: number;
  readonly #dir: string;
  readonly #password: string | undefined;
  #process: ChildProcess | undefined;

  constructor(port: number, config: string, password: string | undefined) {
    this.port = port;
    this.#password = password;
    this.#dir = mkdtempSync(join(tmpdir(), 'gatehouse-sentinel-'));
    // A sentinel rewrites its config file as it learns the topology: each gets its own.
    const file = join(this.#dir, 'sentinel.conf');
    writeFileSync(file, `port ${port}\nbind 127.0.0.1\ndir ${this.#dir}\n${config}`);
    this.#process = own(spawn('redis-server', [file, '--sentinel'], { stdio: 'ignore' }));
  }

  get url(): string {
    return this.#password ? `redis://default:${encodeURIComponent(this.#password)}@127.0.0.1:${this.port}` : `redis://127.0.0.1:${this.port}`;
  }

  async command(args: string[]): Promise<unknown> {
    const client = await rawRedis(this.url);
    try {
      return await client.command(args);
    } finally {
      await client.close();
    }
  }

  async destroy(): Promise<void> {
    const child = this.#process;
    if (child && child.exitCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    this.#process = undefined;
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/**
 * A Redis master, one replica and `sentinels` sentinels (default three,
 * quorum two) of the test's own, on free loopback ports. The servers keep
 * an append-only file synced on each write (a master restarted empty would
 * wipe its replica). Stops only its own processes, by pid.
 */
export class PrivateRedisSentinel {
  readonly servers: readonly PrivateRedis[];
  readonly sentinels: readonly SentinelProcess[];
  readonly #password: string | undefined;
  readonly #sentinelPassword: string | undefined;

  private constructor(servers: PrivateRedis[], sentinels: SentinelProcess[], options: PrivateRedisSentinelOptions) {
    this.servers = servers;
    this.sentinels = sentinels;
    this.#password = options.password;
    this.#sentinelPassword = options.sentinelPassword;
  }

  static async start(options: PrivateRedisSentinelOptions = {}): Promise<PrivateRedisSentinel> {
    const { sentinels: count = 3, password, sentinelPassword, downAfterMs = 1_000 } = options;
    const persistence = () => ['--appendonly', 'yes', '--appendfsync', 'always'];
    const servers: PrivateRedis[] = [];
    const sentinels: SentinelProcess[] = [];
    try {
      const master = await PrivateRedis.start({ ...(password ? { password } : {}), args: persistence });
      servers.push(master);
      const replica = await PrivateRedis.start({ ...(password ? { password } : {}), args: () => [...persistence(), '--replicaof', '127.0.0.1', String(master.port)] });
      servers.push(replica);
      await untilReplicaLinked(replica);
      const quorum = Math.floor(count / 2) + 1;
      const config = [
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master.port} ${quorum}`,
        `sentinel down-after-milliseconds ${MASTER_NAME} ${downAfterMs}`,
        `sentinel failover-timeout ${MASTER_NAME} ${Math.max(10_000, downAfterMs * 10)}`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
        ...(password ? [`sentinel auth-pass ${MASTER_NAME} ${password}`] : []),
        ...(sentinelPassword ? [`requirepass ${sentinelPassword}`, `sentinel sentinel-pass ${sentinelPassword}`] : []),
        '',
      ].join('\n');
      for (let i = 0; i < count; i += 1) sentinels.push(new SentinelProcess(await freePort(), config, sentinelPassword));
      const setup = new PrivateRedisSentinel(servers, sentinels, options);
      await setup.untilSettled();
      return setup;
    } catch (error) {
      await Promise.all([...servers.map((s) => s.destroy()), ...sentinels.map((s) => s.destroy())]);
      throw error;
    }
  }

  /** `redis+sentinel://` naming every sentinel and the master name (with the passwords, if any). */
  get url(): string {
    const auth = this.#password ? `default:${encodeURIComponent(this.#password)}@` : '';
    const query = this.#sentinelPassword ? `?sentinelPassword=${encodeURIComponent(this.#sentinelPassword)}` : '';
    return `redis+sentinel://${auth}${this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${MASTER_NAME}${query}`;
  }

  /** The server the sentinels name as master now. */
  async master(): Promise<PrivateRedis> {
    const [, port] = (await this.sentinels[0]!.command(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME])) as [string, string];
    const server = this.servers.find((s) => s.port === Number(port));
    if (!server) throw new Error(`the sentinels name an unknown master on port ${port}`);
    return server;
  }

  /**
   * Every sentinel answers, sees the other sentinels and the replica, and
   * names a running master that says it is one.
   */
  async untilSettled(): Promise<void> {
    await eventually(async () => {
      for (const sentinel of this.sentinels) {
        const others = (await sentinel.command(['SENTINEL', 'SENTINELS', MASTER_NAME])) as unknown[];
        const replicas = (await sentinel.command(['SENTINEL', 'REPLICAS', MASTER_NAME])) as string[][];
        const linked = replicas.filter((fields) => !fields[fields.indexOf('flags') + 1]?.includes('down'));
        if (others.length !== this.sentinels.length - 1 || linked.length < this.servers.filter((s) => s.running).length - 1) return false;
      }
      const master = await this.master();
      return master.running && !master.frozen && (await info(master, 'replication')).get('role') === 'master';
    }, 'the sentinels agree on a master and see its replica');
  }

  /** Waits until the sentinels have promoted another server than `old`, and it says it is master. */
  async untilFailedOver(old: PrivateRedis): Promise<PrivateRedis> {
    let promoted: PrivateRedis | undefined;
    await eventually(async () => {
      const master = await this.master();
      if (master === old || !master.running) return false;
      promoted = master;
      return (await info(master, 'replication')).get('role') === 'master';
    }, `the sentinels promoted a replica of port ${old.port}`);
    return promoted!;
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.sentinels.map((s) => s.destroy()), ...this.servers.map((s) => s.destroy())]);
  }
}
