import type Koa from 'koa';

/** The request as the client made it, by the word of the one proxy Gatehouse trusts. */
export interface ClientView {
  readonly protocol: 'http' | 'https';
  /** Host (and port) the client addressed. */
  readonly host: string;
  /** The client's address, for throttling and logs. */
  readonly address: string;
}

/**
 * The last comma-separated value of a header: the one the proxy in front of
 * us appended. A client can put anything in the earlier values (`X-Forwarded-
 * Proto: https, http` passes Koa's `ctx.protocol`, which takes the first).
 */
function lastValue(ctx: Koa.Context, name: string): string | undefined {
  const raw = ctx.get(name);
  if (raw === '') return undefined;
  const last = raw.slice(raw.lastIndexOf(',') + 1).trim();
  return last === '' ? undefined : last;
}

/**
 * Protocol, host and client address of a request. Without `trustProxy` they
 * come from the connection itself and every `X-Forwarded-*` header is
 * ignored; with it, only the last value of `X-Forwarded-Proto`, `-Host` and
 * `-For` counts (D1), whatever Koa's `app.proxy` says. Deliberately
 * independent of Koa's own getters, which take the first value of the
 * protocol and host headers.
 */
export function clientViewOf(ctx: Koa.Context, trustProxy: boolean): ClientView {
  // Asked by several middlewares of one request (HTTPS guard, origin guard, session): worked out once.
  const state = ctx.state as Record<symbol, ClientView | undefined>;
  const key = trustProxy ? TRUSTING : NOT_TRUSTING;
  return (state[key] ??= viewOf(ctx, trustProxy));
}

const TRUSTING = Symbol('gatehouse.clientView.trustingProxy');
const NOT_TRUSTING = Symbol('gatehouse.clientView');

function viewOf(ctx: Koa.Context, trustProxy: boolean): ClientView {
  const encrypted = (ctx.req.socket as { encrypted?: boolean }).encrypted === true;
  const socketAddress = ctx.req.socket.remoteAddress ?? '';
  if (!trustProxy) return { protocol: encrypted ? 'https' : 'http', host: ctx.get('host'), address: socketAddress };
  const proto = lastValue(ctx, 'x-forwarded-proto')?.toLowerCase();
  return {
    protocol: proto === undefined ? (encrypted ? 'https' : 'http') : proto === 'https' ? 'https' : 'http',
    host: lastValue(ctx, 'x-forwarded-host') ?? ctx.get('host'),
    address: lastValue(ctx, 'x-forwarded-for') ?? socketAddress,
  };
}
