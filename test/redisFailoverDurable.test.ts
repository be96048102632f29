import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endThenKillRound, type FailoverSetup, type RoundFigures } from './helpers/endedSessionRounds.js';
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

async function signUpUsers(server: TestServer, prefix: string): Promise<string[]> {
  const users: string[] = [];
  for (let i = 0; i < USERS; i += 1) {
    users.push(`${prefix}-${i}`);
    await signUp(server.url, users[i]!);
  }
  return users;
}

/** `ROUNDS` rounds with the replicas keeping up, then one with them lagging (stopped during the writes). */
async function rounds(server: TestServer, prefix: string, setup: FailoverSetup): Promise<{ keepingUp: RoundFigures[]; lagging: RoundFigures }> {
  const users = await signUpUsers(server, prefix);
  const keepingUp: RoundFigures[] = [];
  for (let round = 0; round < ROUNDS; round += 1) keepingUp.push(await endThenKillRound(server.url, users, setup, round));
  const lagging = await endThenKillRound(server.url, users, setup, ROUNDS, { laggingReplicas: true });
  return { keepingUp, lagging };
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

    it(`not one ended session answers again, in ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}, and a round with the replica lagging`, async () => {
      const { keepingUp, lagging } = await rounds(server, 'sentinel-durable', sentinelFailoverSetup(setup));
      console.info(`sentinel, waitReplicas=all: ${JSON.stringify(keepingUp)}; replicas lagging: ${JSON.stringify(lagging)}`);
      expect(sum(keepingUp, 'acknowledged')).toBeGreaterThan(0);
      expect(sum(keepingUp, 'undone'), 'acknowledged ends that a failover undid').toBe(0);
      // Replicas that lag: nothing is acknowledged that they lack; the writes answer 503 "not confirmed".
      expect(lagging.undone).toBe(0);
      expect(lagging.unconfirmed).toBeGreaterThan(0);
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

    it(`not one ended session answers again, in ${ROUNDS} round${ROUNDS === 1 ? '' : 's'} (a different master killed each round), and a round with the replicas lagging`, async () => {
      const { keepingUp, lagging } = await rounds(server, 'cluster-durable', clusterFailoverSetup(cluster));
      console.info(`cluster, waitReplicas=all: ${JSON.stringify(keepingUp)}; replicas lagging: ${JSON.stringify(lagging)}`);
      expect(sum(keepingUp, 'acknowledged')).toBeGreaterThan(0);
      expect(sum(keepingUp, 'undone'), 'acknowledged ends that a failover undid').toBe(0);
      // Replicas that lag: nothing is acknowledged that they lack; the writes answer 503 "not confirmed".
      expect(lagging.undone).toBe(0);
      expect(lagging.unconfirmed).toBeGreaterThan(0);
    }, 600_000);
  });
});

describe('without waitReplicas, the same check on Sentinel (it can fail)', () => {
  let setup: PrivateRedisSentinel;
  let server: TestServer;
  beforeAll(async () => {
    setup = await PrivateRedisSentinel.start();
    server = await startServer({ env: env(setup.url, 'lossy-sentinel') });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await setup?.destroy();
  });

  it('a round with the replica lagging: ends acknowledged 200 come undone after the failover', async () => {
    const users = await signUpUsers(server, 'sentinel-lossy');
    const lagging = await endThenKillRound(server.url, users, sentinelFailoverSetup(setup), 0, { laggingReplicas: true });
    console.info(`sentinel, no option, replica lagging: ${JSON.stringify(lagging)}`);
    expect(lagging.unconfirmed).toBe(0);
    expect(lagging.acknowledged).toBeGreaterThan(0);
    expect(lagging.undone).toBeGreaterThan(0);
  }, 300_000);
});
