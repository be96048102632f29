import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, type RawResponse } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';

// Attack 17 of SECURITY.md (A2): telling existing accounts from unknown ones by the answer or its timing.
const TRIES = 30;

let srv: TestServer;
beforeAll(async () => {
  // Limits high enough that throttling never answers instead of the password check.
  srv = await startServer({ env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000' } });
  const res = await request(`${srv.url}/trpc/auth.register`, { body: { username: 'existing-user', password: 'correct horse battery' } });
  expect(res.status).toBe(200);
});
afterAll(() => srv.close());

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** The body without the per-request id. */
const comparable = (res: RawResponse) => {
  const copy = structuredClone(res.json) as { error: { data: { requestId?: string } } };
  delete copy.error.data.requestId;
  return JSON.stringify(copy);
};

describe('wrong password vs unknown user', () => {
  // Two cores shared with other suites (and a browser) make one sample of medians noisy; a real leak (no dummy
  // hash: ~1 ms against ~30 ms) fails every retry, so retrying a noisy sample does not hide one.
  it(`over ${TRIES} interleaved tries each, both get the same status and body and their median times are within 20 % of each other`, { retry: 2 }, async () => {
    const timed = async (username: string) => {
      const start = performance.now();
      const res = await request(`${srv.url}/trpc/auth.login`, { body: { username, password: 'wrong password 123' } });
      return { res, ms: performance.now() - start };
    };
    // One warm-up each so lazy initialisation does not land on either side.
    await timed('existing-user');
    await timed('unknown-user-0');

    const wrongMs: number[] = [];
    const unknownMs: number[] = [];
    const bodies = new Set<string>();
    const statuses = new Set<number>();
    for (let i = 0; i < TRIES; i++) {
      // Alternate which goes first so drift in machine load hits both sides alike.
      let wrong, unknown;
      if (i % 2 === 0) {
        wrong = await timed('existing-user');
        unknown = await timed(`unknown-user-${i}`);
      } else {
        unknown = await timed(`unknown-user-${i}`);
        wrong = await timed('existing-user');
      }
      wrongMs.push(wrong.ms);
      unknownMs.push(unknown.ms);
      for (const { res } of [wrong, unknown]) {
        statuses.add(res.status);
        bodies.add(comparable(res));
        expect(res.setCookies).toEqual([]);
      }
    }
    expect([...statuses]).toEqual([401]);
    expect(bodies.size).toBe(1);
    const wrongMedian = median(wrongMs);
    const unknownMedian = median(unknownMs);
    const ratio = Math.max(wrongMedian, unknownMedian) / Math.min(wrongMedian, unknownMedian);
    console.info(
      `login timing over ${TRIES} tries: wrong password median ${wrongMedian.toFixed(1)} ms, unknown user median ${unknownMedian.toFixed(1)} ms, ratio ${ratio.toFixed(3)}`,
    );
    expect(ratio).toBeLessThanOrEqual(1.2);
  });
});
