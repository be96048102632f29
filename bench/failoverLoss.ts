/**
 * Issue 21.3, measured: how many acknowledged security writes a Redis
 * failover undoes with and without `waitReplicas=all`, and what the option
 * costs a logout and a read.
 *
 *   npx tsx bench/failoverLoss.ts [--rounds 10] [--lagging-rounds 3] [--topology sentinel|cluster] [--users 30] [--logouts 150] [--reads 400]
 *
 * Failover rounds: a private Redis (Sentinel: master, one replica, three
 * sentinels; or Cluster: three masters with a replica each), the reference
 * app in this process on it; each round signs users in, ends sessions all
 * at once (logouts, revokeOthers, revoke by id), SIGKILLs the master the
 * moment the last answer is in (no pause), waits for the failover, and
 * counts the sessions whose end was acknowledged that answer 200 again
 * (`test/helpers/endedSessionRounds.ts`). `--lagging-rounds` more rounds
 * with the master's replicas stopped (SIGSTOP) during the writes and
 * resumed right after the kill, as a replica busy or cut off for a moment.
 * Then a plain master with one
 * replica: the latency of a logout with and without the option (each after
 * its own login, one at a time), and the latency of `data` reads with the
 * option while the replica is stopped (SIGSTOP) and logouts keep waiting on
 * it, against the same reads with it running.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { endThenKillRound, type RoundFigures } from '../test/helpers/endedSessionRounds.js';
import { clusterFailoverSetup, sentinelFailoverSetup } from '../test/helpers/failoverSetups.js';
import { request, sessionCookie, signUp } from '../test/helpers/http.js';
import { PrivateRedis } from '../test/helpers/privateRedis.js';
import { PrivateRedisCluster } from '../test/helpers/privateRedisCluster.js';
import { PrivateRedisSentinel } from '../test/helpers/privateRedisSentinel.js';
import { untilReplicaLinked } from '../test/helpers/replication.js';
import { startServer, type TestServer } from '../test/helpers/server.js';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    'lagging-rounds': { type: 'string', default: '3' },
    topology: { type: 'string', default: 'sentinel' },
    users: { type: 'string', default: '30' },
    logouts: { type: 'string', default: '150' },
    reads: { type: 'string', default: '400' },
    'skip-failover': { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const LAGGING_ROUNDS = Number(values['lagging-rounds']);
const USERS = Number(values.users);
const WAIT = 'waitReplicas=all&waitTimeout=1s';
const PASSWORD = 'correct horse battery';

const p99 = (list: readonly number[]) => [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.ceil(list.length * 0.99) - 1)]!;
const ms = (value: number) => `${value.toFixed(2)} ms`;
const env = (url: string, namespace: string) => ({ SESSION_STORE_URL: url, SESSION_STORE_NAMESPACE: namespace, SESSION_MAX_PER_USER: '1000' });

async function failoverRounds(withOption: boolean): Promise<{ keepingUp: RoundFigures[]; lagging: RoundFigures[] }> {
  const sentinel = values.topology === 'sentinel';
  const setup = sentinel ? await PrivateRedisSentinel.start() : await PrivateRedisCluster.start();
  const url = withOption ? `${setup.url}${setup.url.includes('?') ? '&' : '?'}${WAIT}` : setup.url;
  const server = await startServer({ env: env(url, `loss-${withOption ? 'with' : 'without'}`) });
  const rounds = sentinel ? sentinelFailoverSetup(setup as PrivateRedisSentinel) : clusterFailoverSetup(setup as PrivateRedisCluster);
  try {
    const users: string[] = [];
    for (let i = 0; i < USERS; i += 1) {
      users.push(`loss-user-${i}`);
      await signUp(server.url, users[i]!);
    }
    const keepingUp: RoundFigures[] = [];
    const lagging: RoundFigures[] = [];
    for (let round = 0; round < ROUNDS + LAGGING_ROUNDS; round += 1) {
      const laggingReplicas = round >= ROUNDS;
      const figures = await endThenKillRound(server.url, users, rounds, round, { laggingReplicas });
      (laggingReplicas ? lagging : keepingUp).push(figures);
      console.info(`  ${withOption ? 'with   ' : 'without'} round ${round + 1}/${ROUNDS + LAGGING_ROUNDS}${laggingReplicas ? ' (replicas lagging)' : ''}: ${JSON.stringify(figures)}`);
    }
    return { keepingUp, lagging };
  } finally {
    await server.close();
    await setup.destroy();
  }
}

const login = async (server: TestServer, username: string) => sessionCookie(await request(`${server.url}/trpc/auth.login`, { body: { username, password: PASSWORD } }));

/** Logout latencies, one at a time, each after its own (untimed) login. */
async function logoutLatencies(server: TestServer, username: string, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const cookie = await login(server, username);
    const started = performance.now();
    const res = await request(`${server.url}/trpc/auth.logout`, { cookie, body: {} });
    times.push(performance.now() - started);
    if (res.status !== 200) throw new Error(`logout answered ${res.status}`);
  }
  return times;
}

/** `data` read latencies, one at a time; `alongside` runs meanwhile (logouts waiting on a stopped replica). */
async function readLatencies(server: TestServer, cookie: string, count: number): Promise<{ times: number[]; statuses: Record<number, number> }> {
  const times: number[] = [];
  const statuses: Record<number, number> = {};
  for (let i = 0; i < count; i += 1) {
    const started = performance.now();
    const res = await request(`${server.url}/trpc/data`, { cookie });
    times.push(performance.now() - started);
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
  }
  return { times, statuses };
}

async function latency(): Promise<void> {
  const master = await PrivateRedis.start();
  const replica = await PrivateRedis.start({ args: () => ['--replicaof', '127.0.0.1', String(master.port)] });
  await untilReplicaLinked(replica);
  const plain = await startServer({ env: env(master.url, 'cost-without') });
  const waiting = await startServer({ env: env(`${master.url}?${WAIT}`, 'cost-with') });
  try {
    await signUp(plain.url, 'cost-user');
    await signUp(waiting.url, 'cost-user');
    const count = Number(values.logouts);
    // Interleaved halves, so both see the same machine.
    const without: number[] = [];
    const withOption: number[] = [];
    for (let half = 0; half < 2; half += 1) {
      without.push(...(await logoutLatencies(plain, 'cost-user', count / 2)));
      withOption.push(...(await logoutLatencies(waiting, 'cost-user', count / 2)));
    }
    console.info(`logout latency (${count} each, one at a time): without median ${ms(median(without))}, p99 ${ms(p99(without))}; with waitReplicas=all median ${ms(median(withOption))}, p99 ${ms(p99(withOption))}`);

    const reader = await login(waiting, 'cost-user');
    const reads = Number(values.reads);
    const up = await readLatencies(waiting, reader, reads);
    replica.freeze();
    let stop = false;
    let unconfirmed = 0;
    // Security writes keep coming while the replica is stopped (four clients): each waits its waitTimeout on the lane, then answers 503.
    const logouts = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!stop) {
          const cookie = await login(waiting, 'cost-user');
          const res = await request(`${waiting.url}/trpc/auth.logout`, { cookie, body: {} });
          if (res.status === 503) unconfirmed += 1;
        }
      }),
    );
    const down = await readLatencies(waiting, reader, reads);
    stop = true;
    await logouts;
    replica.thaw();
    console.info(
      `data reads with waitReplicas=all (${reads} each): replica up p50 ${ms(median(up.times))}, p99 ${ms(p99(up.times))} ${JSON.stringify(up.statuses)}; ` +
        `replica stopped p50 ${ms(median(down.times))}, p99 ${ms(p99(down.times))} ${JSON.stringify(down.statuses)} (${unconfirmed} logouts meanwhile answered 503 not confirmed)`,
    );
  } finally {
    replica.thaw();
    await plain.close();
    await waiting.close();
    await replica.destroy();
    await master.destroy();
  }
}

const sum = (figures: readonly RoundFigures[], field: 'acknowledged' | 'undone' | 'unconfirmed' | 'other') => figures.reduce((total, f) => total + f[field], 0);

console.info(`bench/failoverLoss.ts ${new Date().toISOString()} rounds=${ROUNDS} topology=${values.topology} users=${USERS}`);
if (!values['skip-failover']) {
  const without = await failoverRounds(false);
  const withOption = await failoverRounds(true);
  for (const [name, result] of [['without the option', without], ['with waitReplicas=all', withOption]] as const) {
    for (const [kind, figures] of [['replicas keeping up', result.keepingUp], ['replicas lagging', result.lagging]] as const) {
      console.info(
        `${name}, ${kind}: ${figures.length} rounds, ${sum(figures, 'acknowledged')} acknowledged security writes, ${sum(figures, 'undone')} undone by the failover` +
          ` (${figures.filter((f) => f.undone > 0).length} rounds with losses), ${sum(figures, 'unconfirmed')} answered 503 not confirmed, ${sum(figures, 'other')} other`,
      );
    }
  }
}
await latency();
