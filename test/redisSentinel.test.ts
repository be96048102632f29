import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSentinel } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { redisStoreFor } from '../server/store/openRedis.js';
import { freePort } from './helpers/freePort.js';
import { PrivateRedis } from './helpers/privateRedis.js';

describe('Redis behind Sentinel (private master and sentinel), through redisStoreFor', () => {
  let master: PrivateRedis;
  let sentinel: ChildProcess;
  let dir: string;
  let store: KeyValueStore;

  beforeAll(async () => {
    master = await PrivateRedis.start();
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-sentinel-'));
    const port = await freePort();
    const config = join(dir, 'sentinel.conf');
    writeFileSync(config, `port ${port}\nbind 127.0.0.1\nsentinel monitor gatehouse 127.0.0.1 ${master.port} 1\n`);
    sentinel = spawn('redis-server', [config, '--sentinel'], { stdio: 'ignore' });
    const client = createSentinel({
      name: 'gatehouse',
      sentinelRootNodes: [{ host: '127.0.0.1', port }],
      nodeClientOptions: { disableOfflineQueue: true, socket: { connectTimeout: 1_000 } },
    } as Parameters<typeof createSentinel>[0]);
    store = await redisStoreFor(client, { timeoutMs: 1_000, namespace: 'sentinel-test' });
    // Bounded: the sentinel needs a moment to learn its master.
    for (let attempt = 0; attempt < 50; attempt += 1) {
      try {
        await store.ping();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error('sentinel never answered');
  });
  afterAll(async () => {
    await store?.close();
    if (sentinel && sentinel.exitCode === null) {
      const exited = once(sentinel, 'exit');
      sentinel.kill('SIGKILL');
      await exited;
    }
    await master.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips values, and add/replace keep their set-if-absent/present meaning', async () => {
    await store.set('a', 'one', 60_000);
    expect(await store.get('a')).toBe('one');
    expect(await store.add('a', 'two', 60_000)).toBe(false);
    expect(await store.replace('a', 'three', 60_000)).toBe(true);
    expect(await store.get('a')).toBe('three');
    await store.delete('a');
    expect(await store.replace('a', 'four', 60_000)).toBe(false);
  });

  it('keeps the session index as a hash: 50 concurrent mapSets survive, and of 20 concurrent adds one wins', async () => {
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.mapSet('u:x:sessions', `f${i}`, 'v', 60_000)));
    expect((await store.mapGetAll('u:x:sessions')).size).toBe(50);
    const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => store.add('race', `w${i}`, 60_000)));
    expect(wins.filter(Boolean)).toHaveLength(1);
  });
});
