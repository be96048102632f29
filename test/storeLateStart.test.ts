import { afterAll, describe, expect, it } from 'vitest';
import { keepConnecting } from '../server/store/keepConnecting.js';
import { freePort } from './helpers/freePort.js';
import { errorCode, request, signUp } from './helpers/http.js';
import { clusterUrlFor, PrivateRedisCluster } from './helpers/privateRedisCluster.js';
import { startServer, type TestServer } from './helpers/server.js';

describe('a Redis Cluster that is not there yet when Gatehouse starts', () => {
  let srv: TestServer | undefined;
  let cluster: PrivateRedisCluster | undefined;
  afterAll(async () => {
    await srv?.close();
    await cluster?.destroy();
  });

  it('Gatehouse starts and answers 503; once the cluster is up it serves, without a restart', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 6; i += 1) ports.push(await freePort());
    srv = await startServer({ env: { SESSION_STORE_URL: clusterUrlFor(ports), SESSION_STORE_TIMEOUT: '5000ms' } });
    const early = await request(`${srv.url}/trpc/auth.register`, { body: { username: 'late-cluster', password: 'correct horse battery' } });
    expect(early.status).toBe(503);
    expect(errorCode(early)).toBe('SERVICE_UNAVAILABLE');
    expect((await request(`${srv.url}/healthz`)).status).toBe(503);

    cluster = await PrivateRedisCluster.start({ ports });
    let health = await request(`${srv.url}/healthz`);
    for (let attempt = 0; attempt < 400 && health.status !== 200; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      health = await request(`${srv.url}/healthz`);
    }
    // Healthy means the whole slot map is known and every master answers: every key can be served.
    expect(health.status).toBe(200);
    const cookie = await signUp(srv.url, 'late-cluster');
    expect((await request(`${srv.url}/trpc/data`, { cookie })).status).toBe(200);
  }, 120_000);
});

describe('keepConnecting (the first connection of a Cluster or Sentinel client)', () => {
  it('tries again after each failure, putting the client back first, until one succeeds', async () => {
    const events: string[] = [];
    let attempts = 0;
    await keepConnecting(
      async () => {
        attempts += 1;
        events.push(`connect ${attempts}`);
        if (attempts < 4) throw new Error(`refused ${attempts}`);
      },
      { onError: (error) => events.push(`error: ${(error as Error).message}`), stopped: () => false, reset: async () => void events.push('reset') },
    );
    expect(events).toEqual(['connect 1', 'error: refused 1', 'reset', 'connect 2', 'error: refused 2', 'reset', 'connect 3', 'error: refused 3', 'reset', 'connect 4']);
  });

  it('stops trying once the store is closing', async () => {
    let attempts = 0;
    let closing = false;
    await keepConnecting(
      async () => {
        attempts += 1;
        closing = true;
        throw new Error('refused');
      },
      { onError: () => undefined, stopped: () => closing },
    );
    expect(attempts).toBe(1);
  });
});
