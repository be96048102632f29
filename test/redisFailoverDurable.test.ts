import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endThenKillRound, type RoundFigures } from './helpers/endedSessionRounds.js';
import { clusterFailoverSetup, sentinelFailoverSetup } from './helpers/failoverSetups.js';
import { signUp } from './helpers/http.js';
import { PrivateRedisCluster } from './helpers/privateRedisCluster.js';
import { PrivateRedisSentinel } from './helpers/privateRedisSentinel.js';
import { startServer, type TestServer } from './helpers/server.js';

/** Rounds per topology: each is a real failover (a few seconds). */
const ROUNDS = Number(process.env['FAILOVER_ROUNDS'] ?? 5);
const USERS = 9;

const env = (url: string, namespace: string) => ({
  SESSION_STORE_URL: url,
  SESSION_STORE_NAMESPACE: namespace,
  SESSION_MAX_PER_USER: '1000',
});

async function rounds(server: TestServer, prefix: string, setup: Parameters<typeof endThenKillRound>[2]): Promise<RoundFigures[]> {
  const users: string[] = [];
  for (let i = 0; i < USERS; i += 1) {
    users.push(`${prefix}-${i}`);
    await signUp(server.url, users[i]!);
  }
  const figures: RoundFigures[] = [];
  for (let round = 0; round < ROUNDS; round += 1) figures.push(await endThenKillRound(server.url, users, setup, round));
  return figures;
}

const sum = (figures: readonly RoundFigures[], field: 'acknowledged' | 'undone' | 'unconfirmed' | 'other') => figures.reduce((total, f) => total + f[field], 0);

describe('with waitReplicas=all, the master killed (SIGKILL) the moment logouts and revocations are acknowledged, no pause before the kill', () => {
  describe('Sentinel (master, one replica, three sentinels)', () => {
    let setup: PrivateRedisSentinel;
    let server: TestServer;
    beforeAll(async () => {
      setup = await PrivateRedisSentinel.start();
      server = await startServer({ env: env(`${setup.url}?waitReplicas=all&waitTimeout=2s`, 'durable-sentinel') });
    }, 120_000);
    afterAll(async () => {
      await server?.close();
      await setup?.destroy();
    });

    it(`not one ended session answers again, in ${ROUNDS} rounds`, async () => {
      const figures = await rounds(server, 'sentinel-durable', sentinelFailoverSetup(setup));
      console.info(`sentinel, waitReplicas=all: ${JSON.stringify(figures)}`);
      expect(sum(figures, 'acknowledged')).toBeGreaterThan(0);
      expect(sum(figures, 'undone'), 'acknowledged ends that a failover undid').toBe(0);
    }, 600_000);
  });

  describe('Cluster (three masters, one replica each)', () => {
    let cluster: PrivateRedisCluster;
    let server: TestServer;
    beforeAll(async () => {
      cluster = await PrivateRedisCluster.start();
      server = await startServer({ env: env(`${cluster.url}?waitReplicas=all&waitTimeout=2s`, 'durable-cluster') });
    }, 120_000);
    afterAll(async () => {
      await server?.close();
      await cluster?.destroy();
    });

    it(`not one ended session answers again, in ${ROUNDS} rounds (a different master killed each round)`, async () => {
      const figures = await rounds(server, 'cluster-durable', clusterFailoverSetup(cluster));
      console.info(`cluster, waitReplicas=all: ${JSON.stringify(figures)}`);
      expect(sum(figures, 'acknowledged')).toBeGreaterThan(0);
      expect(sum(figures, 'undone'), 'acknowledged ends that a failover undid').toBe(0);
    }, 600_000);
  });
});
