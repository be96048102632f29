import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeKeyOf } from '../server/session/sessionId.js';
import { failoverFigures, type SignedInUser, startTraffic, untilEveryoneServed } from './helpers/failoverTraffic.js';
import { request, signUp } from './helpers/http.js';
import { PrivateRedisCluster } from './helpers/privateRedisCluster.js';
import { rawRedis } from './helpers/rawRedis.js';
import { pauseWritesUntilReplicated } from './helpers/replication.js';
import { TEST_KEY } from './helpers/server.js';
import { storeSecretIn, userKeysOf } from './helpers/storeSecret.js';
import { openStore } from '../server/store/openStore.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';

const NAMESPACE = 'cluster-failover';
const STORE_TIMEOUT_MS = 1_000;

/** The Redis key of a session, from its cookie (`sid=<id>.<signature>`). */
const sessionKeyOf = (cookie: string) => `${NAMESPACE}::${storeKeyOf(cookie.slice(cookie.indexOf('=') + 1, cookie.lastIndexOf('.')))}`;

async function pttl(url: string, key: string): Promise<number> {
  const redis = await rawRedis(url);
  try {
    return Number(await redis.command(['PTTL', key]));
  } finally {
    await redis.close();
  }
}

describe('Gatehouse on a private Redis Cluster (three masters, a replica each), two processes', () => {
  let cluster: PrivateRedisCluster;
  let servers: ServerProcess[];
  let urls: string[];

  beforeAll(async () => {
    cluster = await PrivateRedisCluster.start();
    const env = {
      SESSION_STORE_URL: cluster.url,
      SESSION_STORE_NAMESPACE: NAMESPACE,
      SESSION_STORE_TIMEOUT: `${STORE_TIMEOUT_MS}ms`,
      SESSION_KEYS: TEST_KEY,
      SESSION_MAX_PER_USER: '1000',
      LOGIN_MAX_FAILURES_PER_ADDRESS: '10000',
      REGISTER_MAX_PER_ADDRESS: '10000',
    };
    servers = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    urls = servers.map((s) => s.url);
  }, 120_000);
  afterAll(async () => {
    await Promise.all((servers ?? []).map((s) => s.stop()));
    await cluster?.destroy();
  });

  it('session records and session indexes carry a TTL on the node that owns them (the trap of connect-redis#404)', async () => {
    const cookie = await signUp(urls[0]!, 'ttl-check');
    const me = (await request(`${urls[1]}/trpc/auth.me`, { cookie })).json as { result: { data: { user: { id: string } } } };
    const store = await openStore({ url: cluster.url, namespace: NAMESPACE, timeoutMs: STORE_TIMEOUT_MS });
    const index = userKeysOf(await storeSecretIn(store).finally(() => store.close()), me.result.data.user.id).sessions;
    for (const key of [sessionKeyOf(cookie), `${NAMESPACE}::${index}`]) {
      const owner = await cluster.masterOf(key);
      const ttl = await pttl(owner.url, key);
      expect(ttl, key).toBeGreaterThan(0);
      // The absolute timeout (12 h) plus the store's slack bounds it.
      expect(ttl, key).toBeLessThanOrEqual(12 * 3_600_000 + 10_000);
    }
  });

  it('a master killed mid-traffic: 503 while its replica takes over, never a 500, a 401 or a null auth.me; then the same cookies work on both processes, and no acknowledged session is lost', async () => {
    const users: SignedInUser[] = [];
    for (let i = 0; i < 8; i += 1) users.push({ username: `failover-${i}`, cookie: await signUp(urls[i % 2]!, `failover-${i}`) });
    await signUp(urls[0]!, 'failover-login');
    await cluster.untilReplicasLinked();
    // The victim owns the first user's session: its requests must go through the failover.
    const victim = await cluster.masterOf(sessionKeyOf(users[0]!.cookie));

    const traffic = startTraffic(urls, users, 'failover-login');
    await untilEveryoneServed(urls, users);
    // Everything acknowledged so far is on the replica; writes sent from now on wait, unacknowledged.
    await pauseWritesUntilReplicated(victim);
    const killedAt = traffic.now();
    await victim.kill();
    const promoted = await cluster.untilFailedOver(sessionKeyOf(users[0]!.cookie), victim);
    await untilEveryoneServed(urls, users);
    await traffic.stop();

    const figures = failoverFigures(traffic.observations, killedAt);
    console.info(`cluster failover (port ${victim.port} killed, ${promoted.port} promoted): ${JSON.stringify(figures)}`);
    const wrong = traffic.observations.filter((o) => (o.status !== 200 && o.status !== 503) || o.meNull);
    expect(wrong, 'answers other than 200 and 503, or a 200 that says "no session"').toEqual([]);
    expect(figures.byStatus['503'], 'the victim’s sessions went through the failover').toBeGreaterThan(0);

    // Nothing lost: every session signed in before the kill, and every login acknowledged during the traffic, still works.
    await untilEveryoneServed(urls, [...users, ...traffic.acknowledgedLogins]);
    // And the cluster still carries revocation across processes: logged out on one, rejected by the other at once.
    const [first] = users;
    expect((await request(`${urls[1]}/trpc/auth.logout`, { cookie: first!.cookie, body: {} })).status).toBe(200);
    expect((await request(`${urls[0]}/trpc/data`, { cookie: first!.cookie })).status).toBe(401);
  }, 180_000);
});
