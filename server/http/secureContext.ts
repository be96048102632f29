import type Koa from 'koa';
import { clientViewOf } from './forwarded.js';

/** `host[:port]` or `[v6]:port` → the host name, lower-cased. */
function hostnameOf(host: string): string {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':', 1)[0] ?? '');
  return name.toLowerCase();
}

/**
 * Whether the browser that sent the request counts its page as a secure
 * context: HTTPS (by the connection, or the trusted proxy's last
 * `X-Forwarded-Proto`), or plain HTTP on a loopback name (`localhost`,
 * `*.localhost`, `127.x.x.x`, `[::1]`), which browsers treat as
 * trustworthy. `http://app.example.test` is not one.
 */
export function isSecureContext(ctx: Koa.Context, trustProxy: boolean): boolean {
  const view = clientViewOf(ctx, trustProxy);
  if (view.protocol === 'https') return true;
  const name = hostnameOf(view.host);
  return name === 'localhost' || name.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(name) || name === '[::1]';
}
