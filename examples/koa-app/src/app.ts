import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import { createGatehouse, type GatehouseOptions } from 'koa-gatehouse';
import { createCatalog, demoProducts } from './catalog.js';
import { gh, type Member } from './gatehouse.js';
import { appRouter } from './router.js';
import { MemberTable } from './users.js';

export interface ShopOptions {
  /** Session secrets, newest first (each 32+ characters). */
  keys: string[];
  /** Where sessions live: `memory://` (default), `sqlite://…`, `redis://…`, `postgres://…`. */
  store?: string;
  /** The member table (default: an empty one). */
  members?: MemberTable;
  /** Extra Gatehouse options: cookie, trustProxy, logger, clock… */
  gatehouse?: Omit<GatehouseOptions<Member>, 'keys' | 'store' | 'accounts'>;
}

/** The shop's Koa app: its own routes and body parser, with Gatehouse's sessions and tRPC under /api/trpc. */
export async function createShopApp(options: ShopOptions) {
  const members = options.members ?? (await MemberTable.create());
  const gatehouse = await createGatehouse(gh, {
    // The shop's staff CLI (and a mobile app) have no cookie jar: they sign in for a bearer token (snippets/shopCli.ts).
    bearer: true,
    ...options.gatehouse,
    keys: options.keys,
    store: options.store ?? 'memory://',
    accounts: members,
  });

  const app = new Koa();
  app.context.catalog = createCatalog(demoProducts);
  app.use(gatehouse.requestId()); // an X-Request-Id on every answer, and in every log line
  app.use(gatehouse.errorBoundary()); // anything thrown below is a clean answer, never a stack: tRPC's shape under /api/trpc, Koa's elsewhere
  app.use(bodyParser()); // the shop's own body parser, before Gatehouse
  app.use(gatehouse.session()); // cookie -> session, for tRPC and the shop's routes
  app.use(gatehouse.trpc({ router: appRouter, prefix: '/api/trpc' })); // CSRF guards, no-store, limits: this prefix only

  const routes = new Router();
  routes.get('/', (ctx) => {
    ctx.type = 'html';
    ctx.body = '<!doctype html><title>Tea shop</title><h1>Tea shop</h1><div id="shop"></div><script type="module" src="/shop.js"></script>';
  });
  // The shop's own route sees the same typed session.
  routes.get('/account', (ctx) => {
    const session = gatehouse.sessionOf(ctx).current;
    ctx.body = session ? { signedIn: true, name: session.user.name, currency: session.data.currency, cartLines: session.data.cart.length } : { signedIn: false };
  });
  // Signing out from the shop's own pages acts for the member, so it gets the tRPC prefix's CSRF guard: SameSite=Lax
  // alone would let a page on a sibling subdomain post here with the member's cookie.
  routes.post('/account/sign-out', gatehouse.csrf(), async (ctx) => {
    ctx.body = { signedOut: await gatehouse.sessionOf(ctx).end() };
  });
  // A partner posts orders from its own site: no csrf() here, and Gatehouse's own guard covers /api/trpc only.
  routes.post('/api/partner/orders', (ctx) => {
    ctx.status = 202;
    ctx.body = { accepted: ctx.request.body };
  });
  app.use(routes.routes()).use(routes.allowedMethods());
  return { app, gatehouse, members };
}
