import { type RawResponse, request, sessionCookie } from './http.js';
import type { PrivateRedis } from './privateRedis.js';

const PASSWORD = 'correct horse battery';

/** What a round needs of the Redis setup under the servers. */
export interface FailoverSetup {
  /** The master to kill this round. */
  masterToKill(round: number): Promise<PrivateRedis>;
  /** Resolves once a replica of `old` serves its data as master. */
  untilFailedOver(old: PrivateRedis): Promise<unknown>;
  /** `old` restarted, rejoined as a replica, every replica linked and in sync: ready for the next round. */
  rejoin(old: PrivateRedis): Promise<void>;
  /**
   * Makes `master`'s replicas lag behind it from now on; the function it
   * resolves is called right after the master is killed (see `RoundOptions`).
   */
  lagReplicas(master: PrivateRedis): Promise<() => Promise<void>>;
}

export interface RoundOptions {
  /**
   * The master's replicas lag behind it while the security writes run
   * (`FailoverSetup.lagReplicas`), as a replica behind a slow or cut link
   * would. Without `waitReplicas` the writes are then acknowledged and can
   * be lost; with it they are not acknowledged (503 "not confirmed").
   */
  readonly laggingReplicas?: boolean;
}

/** What one round saw. */
export interface RoundFigures {
  /** Security writes answered 200 (each ends one session; a revokeOthers ends one here). */
  acknowledged: number;
  /** Answered 503 "not confirmed" (the option on, the replica slower than waitTimeout). */
  unconfirmed: number;
  /** Other answers (a 503 "unavailable" once the kill began, …). */
  other: number;
  /** Sessions whose end was acknowledged and which answered `data` with 200 again after the failover. */
  undone: number;
  /** The undone ones by the call that ended them. */
  undoneBy: Record<string, number>;
  /** How long the slowest acknowledged security write took, ms. */
  slowestMs: number;
}

/** Retried while the store answers 503 (the last failover's tail: a client still finding the new master). */
async function untilNot503(call: () => Promise<RawResponse>, rounds = 200): Promise<RawResponse> {
  let res = await call();
  for (let round = 1; res.status === 503 && round < rounds; round += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    res = await call();
  }
  return res;
}

const login = async (url: string, username: string) => {
  const res = await untilNot503(() => request(`${url}/trpc/auth.login`, { body: { username, password: PASSWORD } }));
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.body}`);
  return sessionCookie(res);
};

/** `data` with `cookie`, retried while the store answers 503 (the failover under way); the final status. */
async function settledStatus(url: string, cookie: string, rounds = 600): Promise<number> {
  for (let round = 0; round < rounds; round += 1) {
    const res = await request(`${url}/trpc/data`, { cookie });
    if (res.status !== 503) return res.status;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return 503;
}

/**
 * One round: each user signs in twice, then all at once: a third of them log
 * both sessions out, a third revoke their other session (`revokeOthers`),
 * a third revoke it by id (`sessions.revoke`). The moment the last answer
 * arrives the master is killed (SIGKILL, by pid: no pause, no waiting for
 * the replica). After the failover every session whose end was acknowledged
 * (200) is tried again: one that answers 200 was undone by the failover.
 * Then the old master rejoins as a replica.
 */
export async function endThenKillRound(url: string, users: readonly string[], setup: FailoverSetup, round: number, options: RoundOptions = {}): Promise<RoundFigures> {
  const signedIn = await Promise.all(users.map(async (username) => ({ username, a: await login(url, username), b: await login(url, username) })));
  // The id of each `b`, for sessions.revoke, read before the clock starts.
  const ids = await Promise.all(
    signedIn.map(async ({ b }, i) => {
      if (i % 3 !== 2) return undefined;
      // `b`'s own listing marks it current.
      const listed = await untilNot503(() => request(`${url}/trpc/sessions.list`, { cookie: b }));
      return (listed.json as { result: { data: { id: string; current: boolean }[] } }).result.data.find((view) => view.current)?.id;
    }),
  );
  const master = await setup.masterToKill(round);
  const release = options.laggingReplicas ? await setup.lagReplicas(master) : undefined;
  const writes: { cookie: string; path: string; call: Promise<{ status: number; ms: number; message?: string }> }[] = [];
  const timed = async (path: string, cookie: string, body: unknown) => {
    const started = performance.now();
    const res = await request(`${url}/trpc/${path}`, { cookie, body });
    return { status: res.status, ms: performance.now() - started, message: (res.json as { error?: { message?: string } } | undefined)?.error?.message };
  };
  signedIn.forEach(({ a, b }, i) => {
    if (i % 3 === 0) {
      writes.push({ cookie: a, path: 'auth.logout', call: timed('auth.logout', a, {}) }, { cookie: b, path: 'auth.logout', call: timed('auth.logout', b, {}) });
    } else if (i % 3 === 1) {
      writes.push({ cookie: b, path: 'sessions.revokeOthers', call: timed('sessions.revokeOthers', a, {}) });
    } else {
      writes.push({ cookie: b, path: 'sessions.revoke', call: timed('sessions.revoke', a, { id: ids[i] }) });
    }
  });
  let answers: Awaited<(typeof writes)[number]['call']>[];
  try {
    answers = await Promise.all(writes.map((write) => write.call));
    await master.kill();
  } finally {
    // The lagging link's proxy is stopped whatever happened, or it would outlive the round.
    await release?.();
  }

  await setup.untilFailedOver(master);
  let undone = 0;
  const undoneBy: Record<string, number> = {};
  for (const [i, write] of writes.entries()) {
    if (answers[i]!.status === 200 && (await settledStatus(url, write.cookie)) === 200) {
      undone += 1;
      undoneBy[write.path] = (undoneBy[write.path] ?? 0) + 1;
    }
  }
  await setup.rejoin(master);
  const acknowledged = answers.filter((answer) => answer.status === 200);
  return {
    acknowledged: acknowledged.length,
    unconfirmed: answers.filter((answer) => answer.status === 503 && answer.message?.startsWith('Not confirmed')).length,
    other: answers.filter((answer) => answer.status !== 200 && !(answer.status === 503 && answer.message?.startsWith('Not confirmed'))).length,
    undone,
    undoneBy,
    slowestMs: Math.round(Math.max(0, ...acknowledged.map((answer) => answer.ms))),
  };
}
