/**
 * Redis memory per session: `INFO memory` used_memory before and after
 * creating N sessions through `SessionStore.create` (a sealed record plus
 * its per-user index entry, as a real login writes them), on a private
 * redis-server started here on a free port and stopped at the end.
 *
 *   npx tsx bench/redisMemory.ts              # 100,000 sessions, one per user
 *   SESSIONS=100000 PER_USER=4 npx tsx bench/redisMemory.ts
 *
 * Not part of `npm test`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createClient } from 'redis';
import { GENERATION_ERA } from '../server/session/generations.js';
import { Sealer } from '../server/session/sealer.js';
import { newSessionId } from '../server/session/sessionId.js';
import { z } from 'zod';
import { userSchema } from '../shared/user.js';
import { SessionCodec } from '../server/session/sessionCodec.js';
import { SessionStore } from '../server/session/sessionStore.js';
import { openStore } from '../server/store/openStore.js';
import { lazyStoreSecret } from '../server/store/storeSecret.js';

const SESSIONS = Number(process.env.SESSIONS ?? 100_000);
const PER_USER = Number(process.env.PER_USER ?? 1);
const IN_FLIGHT = 200;

const port = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const address = probe.address();
    probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
  });
});
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
const url = `redis://127.0.0.1:${port}`;

const raw = createClient({ url }) as unknown as {
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  close(): Promise<unknown>;
  on(event: 'error', listener: () => void): unknown;
};
raw.on('error', () => undefined);
for (let attempt = 0; ; attempt += 1) {
  try {
    await raw.connect();
    break;
  } catch (error) {
    if (attempt > 100) throw error;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const usedMemory = async () => {
  const info = (await raw.sendCommand(['INFO', 'memory'])) as string;
  return Number(/used_memory:(\d+)/.exec(info)![1]);
};

try {
  const store = await openStore({ url, timeoutMs: 5_000 });
  const sealer = new Sealer(['bench-key-0123456789-abcdefghijklmnopqrstuvwxyz']);
  const clock = { now: () => Date.now() };
  const storeSecret = lazyStoreSecret(store, sealer, clock, 0);
  // Made (and stored) before the first measure: one key for the whole store, not a cost per session.
  await storeSecret();
  const sessions = new SessionStore(
    store,
    sealer,
    storeSecret,
    clock,
    { idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000, maxPerUser: 1_000 },
    new SessionCodec(userSchema, z.object({})),
  );
  const before = await usedMemory();
  const started = Date.now();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < SESSIONS; i = next++) {
      const now = Date.now();
      const user = Math.floor(i / PER_USER);
      await sessions.create(newSessionId(), {
        v: 2,
        user: { id: `7c1e4f0a-5b2d-4c8e-9f3a-${String(user).padStart(12, '0')}`, username: `user${user}`, role: 'user' },
        data: {},
        createdAt: now,
        lastSeen: now,
        authAt: now,
        ua: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
        // What a login stores: the first generation of this version's era (written out, unlike 0).
        gen: GENERATION_ERA,
        carrier: 'cookie',
      });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const after = await usedMemory();
  const keys = (await raw.sendCommand(['DBSIZE'])) as number;
  console.log(
    JSON.stringify({
      sessions: SESSIONS,
      sessionsPerUser: PER_USER,
      keys,
      usedMemoryBefore: before,
      usedMemoryAfter: after,
      bytesPerSession: Math.round((after - before) / SESSIONS),
      seconds: (Date.now() - started) / 1000,
    }),
  );
  await store.close();
} finally {
  await raw.close().catch(() => undefined);
  redis.kill('SIGTERM');
  await once(redis, 'exit');
}
