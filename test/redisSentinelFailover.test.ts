import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failoverFigures, type SignedInUser, startTraffic, untilEveryoneServed } from './helpers/failoverTraffic.js';
import { request, signUp } from './helpers/http.js';
import { PrivateRedisSentinel } from './helpers/privateRedisSentinel.js';
import { eventually, info, pauseWritesUntilReplicated, untilReplicaLinked } from './helpers/replication.js';
import { TEST_KEY } from './helpers/server.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';

const STORE_TIMEOUT_MS = 1_000;

describe('Gatehouse on a private Redis behind Sentinel (master, replica, three sentinels), two processes', () => {
  let setup: PrivateRedisSentinel;
  let servers: ServerProcess[];
  let urls: string[];

  beforeAll(async () => {
    setup = await PrivateRedisSentinel.start({ password: 'failover-pw' });
    const env = {
      SESSION_STORE_URL: setup.url,
      SESSION_STORE_NAMESPACE: 'sentinel-failover',
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
    await setup?.destroy();
  });

  it('the master killed mid-traffic: 503 until the sentinels promote the replica, never a 500, a 401 or a null auth.me; then the same cookies work on both processes, and no acknowledged session is lost', async () => {
    const users: SignedInUser[] = [];
    for (let i = 0; i < 8; i += 1) users.push({ username: `failover-${i}`, cookie: await signUp(urls[i % 2]!, `failover-${i}`) });
    await signUp(urls[0]!, 'failover-login');
    const master = await setup.master();

    const traffic = startTraffic(urls, users, 'failover-login');
    await untilEveryoneServed(urls, users);
    // Everything acknowledged so far is on the replica; writes sent from now on wait, unacknowledged.
    await pauseWritesUntilReplicated(master);
    const killedAt = traffic.now();
    await master.kill();
    const promoted = await setup.untilFailedOver(master);
    await untilEveryoneServed(urls, users);
    await traffic.stop();

    const figures = failoverFigures(traffic.observations, killedAt);
    console.info(`sentinel failover (port ${master.port} killed, ${promoted.port} promoted): ${JSON.stringify(figures)}`);
    const wrong = traffic.observations.filter((o) => (o.status !== 200 && o.status !== 503) || o.meNull);
    expect(wrong, 'answers other than 200 and 503, or a 200 that says "no session"').toEqual([]);
    expect(figures.byStatus['503'], 'every session went through the failover').toBeGreaterThan(0);
    await untilEveryoneServed(urls, [...users, ...traffic.acknowledgedLogins]);

    // The old master comes back with its append-only file: the sentinels make it a replica of the new one,
    // it does not come back as a second master, and nothing written since is lost.
    await master.restart();
    await eventually(async () => (await info(master, 'replication')).get('role') === 'slave', 'the old master rejoined as a replica');
    await untilReplicaLinked(master);
    await setup.untilSettled();
    expect(await setup.master()).toBe(promoted);
    await untilEveryoneServed(urls, users);
    const [first] = users;
    expect((await request(`${urls[1]}/trpc/auth.logout`, { cookie: first!.cookie, body: {} })).status).toBe(200);
    expect((await request(`${urls[0]}/trpc/data`, { cookie: first!.cookie })).status).toBe(401);
  }, 180_000);
});
