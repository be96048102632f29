import type Koa from 'koa';
import type { Gatehouse } from '../server/gatehouse.js';
import { newSessionId } from '../server/session/sessionId.js';

const gc = (globalThis as { gc?: () => void }).gc;

function collect(): number {
  // Several passes: weak references and finalizers free memory over more than one cycle.
  for (let i = 0; i < 4; i += 1) gc?.();
  // The memory store keeps its values in Buffers outside the heap: they count.
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/**
 * Bench-only endpoints on 127.0.0.1 (never part of server/):
 * `POST /__bench/seed?n=N` stores N sessions straight through the session
 * store API (each for its own user, as real sessions are spread over users),
 * and `GET /__bench/heap` answers the heap in use plus Buffer memory after a full GC (the
 * server runs with --expose-gc).
 */
export function seedEndpoint(gatehouse: Gatehouse): Koa.Middleware {
  let seeded = 0;
  // Not async on the way through: the measured requests must not pay for this bench-only layer.
  return function benchSeed(ctx, next) {
    if (!ctx.path.startsWith('/__bench/')) return next();
    return answerBench(ctx);
  };
  async function answerBench(ctx: Koa.Context): Promise<void> {
    if (ctx.path === '/__bench/heap') {
      ctx.body = { heapUsed: collect(), gc: gc !== undefined };
      return;
    }
    if (ctx.path === '/__bench/seed' && ctx.method === 'POST') {
      const n = Number(ctx.query.n ?? 0);
      const now = gatehouse.clock.now();
      const chunk = 100;
      for (let start = 0; start < n; start += chunk) {
        const batch: Promise<unknown>[] = [];
        for (let i = start; i < Math.min(n, start + chunk); i += 1) {
          const username = `seed-${seeded + i}`;
          batch.push(
            gatehouse.services.sessions.create(newSessionId(), {
              v: 2,
              user: { id: `u-${username}`, username, role: 'user' },
              data: {},
              createdAt: now,
              lastSeen: now,
              authAt: now,
              ua: 'autocannon',
              gen: 0,
              carrier: 'cookie',
            }),
          );
        }
        await Promise.all(batch);
      }
      seeded += n;
      ctx.body = { seeded };
      return;
    }
    ctx.status = 404;
  }
}
