import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import koaSession from 'koa-session';
import { chromium, type Browser } from 'playwright-core';
import type { Logger } from 'pino';
import { createGatehouse, createLogger, type Gatehouse, type GatehouseOptions, gatehouseRoutes, router } from '../../server/index.js';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.js';
import { TEST_KEY } from './server.js';

/** The test site's domain: Chromium resolves every `*.gatehouse.test` name to 127.0.0.1 (`--host-resolver-rules`). */
export const SITE = 'gatehouse.test';

/** A server listening on 127.0.0.1, with its port and a close that ends open connections. */
export interface Listening {
  port: number;
  close(): Promise<void>;
}

/** A self-signed certificate for `*.gatehouse.test` (browsers take it with `ignoreHTTPSErrors`). */
export interface Certificate {
  key: Buffer;
  cert: Buffer;
}

export function selfSignedCertificate(): Certificate {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', `/CN=${SITE}`, '-addext', `subjectAltName=DNS:*.${SITE}`,
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Listens on 127.0.0.1: plain http, or https with `tls`. */
export async function listen(handler: RequestListener, tls?: Certificate): Promise<Listening> {
  const server: Server = tls ? createTlsServer(tls, handler) : createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export interface HostSite extends Listening {
  gatehouse: Gatehouse;
  /** Notes the host's REST API stored, with the user they were stored for. */
  notes: { user: string; text: string }[];
}

export interface HostSiteOptions {
  /** Gatehouse's cookie options (`secure` follows `tls`). */
  cookie?: Omit<NonNullable<GatehouseOptions['cookie']>, 'secure'>;
  /** Serve over HTTPS with this certificate, with Gatehouse's production cookie (`__Host-sid`, Secure); default plain http. */
  tls?: Certificate;
  /** Guard the host's state-changing routes with `gatehouse.csrf()` (false: the routes as a team had them). */
  csrf?: boolean;
  allowedOrigins?: string[];
  logger?: Logger;
  /** More of Gatehouse's options (a clock, staySignedIn, an events hook). */
  gatehouse?: Partial<GatehouseOptions>;
}

/**
 * A team's existing Koa app with Gatehouse mounted in it (issue 19): its own koa-session (a theme), its own
 * consent cookie, a lenient body parser (JSON, forms, text), and a REST API that acts for the signed-in user
 * through `sessionOf(ctx)`: `POST /api/notes` (JSON, or a body that parses as JSON whatever its type, like
 * many older APIs) and `POST /api/sign-out`.
 */
export async function startHostSite(options: HostSiteOptions = {}): Promise<HostSite> {
  const gatehouse = await createGatehouse({
    keys: [TEST_KEY],
    cookie: { ...options.cookie, secure: options.tls !== undefined },
    allowedOrigins: options.allowedOrigins ?? [],
    logger: options.logger ?? createLogger('silent'),
    ...options.gatehouse,
  });
  const app = new Koa();
  app.keys = ['the-host-app-signs-its-own-cookies-0123456789'];
  app.silent = true;
  app.use(gatehouse.requestId());
  app.use(gatehouse.errorBoundary());
  app.use(koaSession({ key: 'theme', signed: true, sameSite: 'lax' }, app));
  app.use(bodyParser({ enableTypes: ['json', 'form', 'text'] }));
  app.use(gatehouse.session());
  app.use(gatehouse.trpc({ router: router(gatehouseRoutes) }));

  const notes: HostSite['notes'] = [];
  const guard = (requireJson: boolean): Koa.Middleware[] => (options.csrf ? [gatehouse.csrf({ requireJson })] : []);
  const routes = new Router();
  routes.get('/', (ctx) => {
    ctx.type = 'html';
    ctx.body = '<!doctype html><title>host</title><h1>The team’s app</h1>';
  });
  routes.get('/prefs', (ctx) => {
    (ctx.session as { theme?: string }).theme = 'dark';
    ctx.cookies.set('consent', 'yes', { httpOnly: false, signed: false, sameSite: 'lax' });
    ctx.type = 'html';
    ctx.body = '<!doctype html><title>prefs</title><p>saved</p>';
  });
  routes.post('/api/notes', ...guard(true), (ctx) => {
    const user = gatehouse.sessionOf(ctx).current?.user;
    if (!user) return ctx.throw(401, 'Sign in first.');
    const raw: unknown = ctx.request.body;
    const body = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { text?: unknown };
    notes.push({ user: user.username, text: String(body.text) });
    ctx.status = 201;
    ctx.body = { saved: true };
  });
  routes.post('/api/sign-out', ...guard(false), async (ctx) => {
    ctx.body = { signedOut: await gatehouse.sessionOf(ctx).end() };
  });
  app.use(routes.routes()).use(routes.allowedMethods());

  const listening = await listen(app.callback(), options.tls);
  return {
    ...listening,
    gatehouse,
    notes,
    async close() {
      await listening.close();
      await gatehouse.close();
    },
  };
}

/**
 * Chromium resolving `*.gatehouse.test` to 127.0.0.1, so one test serves sibling subdomains of one site on
 * local ports. Open its contexts with `ignoreHTTPSErrors: true` for the self-signed HTTPS sites.
 */
export function launchSiteBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, `--host-resolver-rules=MAP *.${SITE} 127.0.0.1`] });
}
