import type Koa from 'koa';
import type { KeyValueStore } from '../store/keyValueStore.js';

/** `GET <path>` (default `/healthz`): 200 when the store answers within its deadline, 503 when it does not. */
export function healthz(store: KeyValueStore, path = '/healthz'): Koa.Middleware {
  // Not async: every other request only passes through (one promise and tick fewer each).
  return function healthzMiddleware(ctx, next) {
    if (ctx.path !== path || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    return answerHealth(ctx, store);
  };
}

async function answerHealth(ctx: Koa.Context, store: KeyValueStore): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  try {
    await store.ping();
    ctx.body = { status: 'ok', store: store.kind };
  } catch {
    ctx.status = 503;
    ctx.body = { status: 'unavailable', store: store.kind };
  }
}
