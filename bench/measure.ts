import autocannon from 'autocannon';
import type { RunningStack } from './stackProcess.js';

/** Every stack gets these headers: Gatehouse runs as behind a TLS proxy, and the rest ignore them. */
export const COMMON_HEADERS = { 'x-forwarded-proto': 'https', 'user-agent': 'autocannon' };

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  /** Answers that were not 2xx, and socket errors/timeouts: a run with these is flagged. */
  bad: number;
}

export type Workload = 'read' | 'create';

/** Users the creation load cycles through (each stack sees the same payloads). */
const LOGIN_USERS = 10_000;

/** The headers a read sends to present its session: `Cookie`, or `Authorization: Bearer` for a bearer stack. */
export type Credential = Record<string, string>;

/** The password the stacks that sign in for real (the shipped server) register with; the others ignore it. */
const BENCH_PASSWORD = 'bench password 0123456789';

/** Signs in once (the shipped server: registers, one password hash) and returns the headers the read load sends. */
export async function signIn(stack: RunningStack): Promise<Credential> {
  const bearer = stack.spec.credential === 'bearer';
  const response = await fetch(`${stack.origin}${stack.login}`, {
    method: 'POST',
    headers: { ...COMMON_HEADERS, 'content-type': 'application/json', ...(bearer ? { 'gatehouse-session': 'bearer' } : {}) },
    body: JSON.stringify({ username: 'bench-user', password: BENCH_PASSWORD }),
  });
  if (!response.ok) throw new Error(`${stack.spec.name}: login answered ${response.status}: ${await response.text()}`);
  const token = response.headers.get('gatehouse-session-token');
  const credential: Credential = bearer
    ? { authorization: `Bearer ${token ?? ''}`, 'gatehouse-session': 'bearer' }
    : {
        cookie: response.headers
          .getSetCookie()
          .map((c) => c.split(';', 1)[0]!)
          .join('; '),
      };
  if (bearer && !token) throw new Error(`${stack.spec.name}: the bearer sign-in handed over no token (is bearer on?)`);
  const check = await fetch(`${stack.origin}${stack.read}`, { headers: { ...COMMON_HEADERS, ...credential } });
  const body = await check.text();
  if (!check.ok || !body.includes('bench-user')) throw new Error(`${stack.spec.name}: read with the credential answered ${check.status}: ${body}`);
  return credential;
}

/** One autocannon run from this process: 50 connections, loopback only. */
export async function load(stack: RunningStack, workload: Workload, credential: Credential, seconds: number): Promise<LoadResult> {
  let counter = 0;
  const options: autocannon.Options =
    workload === 'read'
      ? {
          url: `${stack.origin}${stack.read}`,
          headers: { ...COMMON_HEADERS, ...credential },
        }
      : {
          url: stack.origin,
          requests: [
            {
              method: 'POST',
              path: stack.login,
              headers: { ...COMMON_HEADERS, 'content-type': 'application/json' },
              setupRequest: (request) => {
                counter = (counter + 1) % LOGIN_USERS;
                return { ...request, body: `{"username":"bench-${counter}"}` };
              },
            },
          ],
        };
  const result = await autocannon({ ...options, connections: 50, duration: seconds, pipelining: 1 });
  return {
    rps: result.requests.total / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    bad: result.non2xx + result.errors + result.timeouts,
  };
}
