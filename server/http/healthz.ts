import type Koa from 'koa';
import type { KeyValueStore } from '../store/keyValueStore.js';

/** `GET /healthz`: 200 when the store answers within its deadline, 503 when it does not. */
export function healthz(store: KeyValueStore): Koa.Middleware {
  return async function healthzMiddleware(ctx, next) {
    if (ctx.path !== '/healthz' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.set('Cache-Control', 'no-store');
    try {
      await store.ping();
      ctx.body = { status: 'ok', store: store.kind };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', store: store.kind };
    }
  };
}
