import { performance } from 'node:perf_hooks';
import { request, sessionCookie } from './http.js';

/** One answer a client saw while the store failed over. */
export interface Observation {
  /** ms since the traffic started. */
  readonly at: number;
  /** How long the request took, ms. */
  readonly ms: number;
  readonly user: string;
  readonly server: string;
  readonly call: 'data' | 'auth.me' | 'auth.login';
  readonly status: number;
  /** For `auth.me` answered 200: it said "no session" (a silent logout). */
  readonly meNull: boolean;
}

export interface SignedInUser {
  readonly username: string;
  cookie: string;
}

export interface Traffic {
  /** Everything seen so far. */
  readonly observations: readonly Observation[];
  /** Logins that answered 200 while the traffic ran, with their cookies (they must keep working). */
  readonly acknowledgedLogins: readonly SignedInUser[];
  /** Stops every loop and waits for the requests in flight. */
  stop(): Promise<void>;
  /** ms since the traffic started. */
  now(): number;
}

const password = 'correct horse battery';

/**
 * Clients that keep using their sessions, round-robin over `servers`, each
 * with its own loop: `data` and `auth.me` with a live cookie, and one loop
 * that keeps logging `loginUser` in (a write). Every answer is recorded;
 * nothing is judged here.
 */
export function startTraffic(servers: readonly string[], users: readonly SignedInUser[], loginUser: string): Traffic {
  const started = performance.now();
  const now = () => Math.round(performance.now() - started);
  const observations: Observation[] = [];
  const acknowledgedLogins: SignedInUser[] = [];
  let stopped = false;
  let turn = 0;
  const record = (user: string, server: string, call: Observation['call'], at: number, status: number, meNull = false) =>
    observations.push({ at, ms: now() - at, user, server, call, status, meNull });

  const reader = async (user: SignedInUser) => {
    while (!stopped) {
      const server = servers[turn++ % servers.length]!;
      for (const call of ['data', 'auth.me'] as const) {
        const at = now();
        const res = await request(`${server}/trpc/${call}`, { cookie: user.cookie });
        const meNull = call === 'auth.me' && res.status === 200 && (res.json as { result?: { data?: unknown } }).result?.data === null;
        record(user.username, server, call, at, res.status, meNull);
      }
    }
  };
  const loginLoop = async () => {
    while (!stopped) {
      const server = servers[turn++ % servers.length]!;
      const at = now();
      const res = await request(`${server}/trpc/auth.login`, { body: { username: loginUser, password } });
      record(loginUser, server, 'auth.login', at, res.status);
      if (res.status === 200) acknowledgedLogins.push({ username: loginUser, cookie: sessionCookie(res) });
    }
  };
  const loops = [...users.map(reader), loginLoop()];
  return {
    observations,
    acknowledgedLogins,
    now,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** Polls (bounded) until every cookie gets a 200 from `data` on every server. */
export async function untilEveryoneServed(servers: readonly string[], users: readonly SignedInUser[], rounds = 600): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    const answers = await Promise.all(users.flatMap((user) => servers.map((server) => request(`${server}/trpc/data`, { cookie: user.cookie }))));
    if (answers.every((res) => res.status === 200)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('some sessions never worked again after the failover');
}

/** What the failover cost, as the clients saw it. */
export interface FailoverFigures {
  requests: number;
  byStatus: Record<string, number>;
  /** From the kill to the last 503 (ms): how long some sessions could not be served. */
  window503Ms: number;
  /** The slowest 503 (ms): how long a client waited to hear "try again". */
  slowest503Ms: number;
}

export function failoverFigures(observations: readonly Observation[], killedAt: number): FailoverFigures {
  const byStatus: Record<string, number> = {};
  for (const o of observations) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
  const unavailable = observations.filter((o) => o.status === 503);
  return {
    requests: observations.length,
    byStatus,
    window503Ms: unavailable.length === 0 ? 0 : Math.max(...unavailable.map((o) => o.at + o.ms)) - killedAt,
    slowest503Ms: unavailable.length === 0 ? 0 : Math.max(...unavailable.map((o) => o.ms)),
  };
}
