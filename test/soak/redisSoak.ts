import { freePort } from '../helpers/freePort.js';
import { PrivateRedis } from '../helpers/privateRedis.js';
import { PrivateRedisCluster } from '../helpers/privateRedisCluster.js';
import { Crowd } from './crowd.js';
import { type Fault, type FaultRecord, freezeClusterMaster, freezeRedis, injectUntil, killClusterMaster, killGatehouse, killRedis } from './faults.js';
import { GatehouseProcess } from './gatehouseProcess.js';
import { Ledger } from './ledger.js';
import { Probe } from './probe.js';
import { Random } from './random.js';
import { soakEnv } from './soakEnv.js';
import { VirtualUser } from './virtualUser.js';

export interface RedisSoakOptions {
  topology: 'redis' | 'cluster';
  durationMs: number;
  users: number;
  seed: number;
}

export interface SoakResult {
  readonly title: string;
  readonly durationMs: number;
  readonly ledger: Ledger;
  readonly faults: readonly FaultRecord[];
  /** Sessions checked once the faults stopped (acknowledged live → 200, acknowledged ended → 401). */
  readonly verified: number;
  /** Error-level log lines of the Gatehouse processes (for a run that answered a 5xx other than 503). */
  readonly errorLogs: readonly string[];
}

/**
 * Two reference-server processes on one private store — a single Redis
 * (append-only file synced on every write) or a six-node cluster — with
 * virtual users over real HTTP while a fault injector freezes, kills and
 * restarts the store (or a cluster master) and one Gatehouse process.
 */
export async function redisSoak(options: RedisSoakOptions): Promise<SoakResult> {
  const random = new Random(options.seed);
  const single = options.topology === 'redis' ? await PrivateRedis.start({ args: () => ['--appendonly', 'yes', '--appendfsync', 'always'] }) : undefined;
  const cluster = options.topology === 'cluster' ? await PrivateRedisCluster.start() : undefined;
  const url = single?.url ?? cluster!.url;
  const fleet: GatehouseProcess[] = [];
  try {
    const env = soakEnv(url);
    for (let i = 0; i < 2; i += 1) fleet.push(await GatehouseProcess.start(await freePort(), env));
    const ledger = new Ledger();
    const probe = new Probe(fleet, ledger);
    await probe.signIn();
    const servers = fleet.map((g) => g.url);
    const crowd = new Crowd(
      Array.from({ length: options.users }, (_, i) => new VirtualUser(`soak-${options.topology}-${i}`, servers, ledger, random)),
      random,
    );
    await crowd.signUp();

    const context = { random, probe, now: () => ledger.now() };
    const faults: Fault[] = single
      ? [freezeRedis(single, context), killRedis(single, context), killGatehouse(fleet, context)]
      : [freezeClusterMaster(cluster!, context), killClusterMaster(cluster!, context), killGatehouse(fleet, context)];
    const started = Date.now();
    crowd.start();
    const records = await injectUntil(faults, random, () => Date.now() - started >= options.durationMs);
    await crowd.stop();
    const durationMs = Date.now() - started;
    // Everything is back: every session the clients know to be live must work, every one they ended must not.
    await probe.untilServing();
    const verified = await crowd.verify();
    return {
      title: options.topology === 'redis' ? 'two Gatehouse processes, one private Redis' : 'two Gatehouse processes, a private Redis Cluster (3 masters + 3 replicas)',
      durationMs,
      ledger,
      faults: records,
      verified,
      errorLogs: fleet.flatMap((g) => g.recentOutput().split('\n').filter((line) => line.includes('"level":50') || line.includes('"level":60'))),
    };
  } finally {
    await Promise.all(fleet.map((g) => g.stop()));
    await single?.destroy();
    await cluster?.destroy();
  }
}
