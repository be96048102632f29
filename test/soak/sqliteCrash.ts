import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/freePort.js';
import { Crowd } from './crowd.js';
import type { FaultRecord } from './faults.js';
import { GatehouseProcess } from './gatehouseProcess.js';
import { Ledger } from './ledger.js';
import { Probe } from './probe.js';
import { Random } from './random.js';
import type { SoakResult } from './redisSoak.js';
import { soakEnv } from './soakEnv.js';
import { VirtualUser } from './virtualUser.js';

export interface SqliteCrashOptions {
  synchronous: 'full' | 'normal';
  kills: number;
  users: number;
  seed: number;
}

/**
 * The reference server on `sqlite://<tmp>` under load, killed with
 * `kill -9` mid-load `kills` times. After each restart the load stops and
 * every user checks all it knows: each login answered 200 before the kill
 * (and not ended since) works, each acknowledged logout stays ended.
 */
export async function sqliteCrash(options: SqliteCrashOptions): Promise<SoakResult> {
  const random = new Random(options.seed);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-soak-sqlite-'));
  // Spelled out, not left to the default: the default is a choice that may change.
  const url = `sqlite://${join(dir, 'soak.sqlite')}?synchronous=${options.synchronous}`;
  const gatehouse = await GatehouseProcess.start(await freePort(), soakEnv(url));
  try {
    const ledger = new Ledger();
    const probe = new Probe([gatehouse], ledger);
    await probe.signIn();
    const crowd = new Crowd(
      Array.from({ length: options.users }, (_, i) => new VirtualUser(`soak-sqlite-${options.synchronous}-${i}`, [gatehouse.url], ledger, random)),
      random,
    );
    await crowd.signUp();
    const started = Date.now();
    const faults: FaultRecord[] = [];
    let verified = 0;
    for (let kill = 0; kill < options.kills; kill += 1) {
      crowd.start();
      await new Promise((resolve) => setTimeout(resolve, random.between(1_500, 4_000)));
      const at = ledger.now();
      await gatehouse.kill();
      const down = Date.now();
      await gatehouse.restart();
      const recoveredMs = await probe.untilServing();
      await crowd.stop();
      verified += await crowd.verify();
      faults.push({ kind: 'kill -9 the server under load, restart it', at, heldMs: Date.now() - down - (recoveredMs ?? 0), recoveredMs });
    }
    return {
      title: `one Gatehouse process on SQLite (synchronous=${options.synchronous}), killed under load`,
      durationMs: Date.now() - started,
      ledger,
      faults,
      verified,
      errorLogs: gatehouse.recentOutput().split('\n').filter((line) => line.includes('"level":50') || line.includes('"level":60')),
    };
  } finally {
    await gatehouse.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
