import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventSource } from 'eventsource';
import { createLogger } from 'koa-gatehouse';
import { createNodeClient, TRPCClientError } from 'koa-gatehouse/client/node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createShopApp } from '../src/app.js';
import type { AppRouter } from '../src/router.js';

// One flow over real HTTP through the typed Node client: the shop's routes and Gatehouse's side by side.
let server: Server;
let url: string;
let close: () => Promise<void>;
beforeAll(async () => {
  const { app, gatehouse } = await createShopApp({
    keys: ['example-key-0123456789-abcdefghijklmnopqrstuvwxyz'],
    gatehouse: { cookie: { secure: false }, logger: createLogger('silent') },
  });
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await gatehouse.close();
  };
});
afterAll(() => close());

it('register, shop, see the session in the shop’s own route, watch orders, sign out', async () => {
  // #region readme
  const { api, jar } = createNodeClient<AppRouter>({ url, prefix: '/api/trpc', EventSource });
  const { user } = await api.auth.register.mutate({ username: 'bob@example.com', password: 'a long password 1' });
  expect(user).toMatchObject({ email: 'bob@example.com', role: 'customer' });
  expect((await api.products.query()).map((product) => product.sku)).toEqual(['tea-green', 'tea-black', 'mug']);
  expect(await api.cart.add.mutate({ sku: 'tea-green', quantity: 1 })).toEqual([{ sku: 'tea-green', quantity: 1 }]);
  expect(await api.setPreferences.mutate({ currency: 'USD' })).toEqual({ currency: 'USD', pageSize: 20 });

  const account = await fetch(`${url}/account`, { headers: { cookie: await jar.getCookieString(url) } });
  expect(await account.json()).toEqual({ signedIn: true, name: 'bob', currency: 'USD', cartLines: 1 });
  // #endregion readme

  const first = await new Promise<string>((resolve, reject) => {
    const subscription = api.orderUpdates.subscribe(undefined, {
      onData: (update) => {
        subscription.unsubscribe();
        resolve(update.message);
      },
      onError: reject,
    });
  });
  expect(first).toBe('Hello bob, watching your orders.');

  // A partner's cross-origin POST to the shop's own API is the shop's business, not Gatehouse's CSRF guard.
  const partner = await fetch(`${url}/api/partner/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: 'https://partner.example', 'sec-fetch-site': 'cross-site' },
    body: JSON.stringify({ sku: 'mug' }),
  });
  expect(partner.status).toBe(202);

  await api.auth.logout.mutate();
  const after = await api.cart.get.query().catch((error: unknown) => error);
  expect(after).toBeInstanceOf(TRPCClientError);
  expect((after as TRPCClientError<AppRouter>).data?.httpStatus).toBe(401);
});

it('closing the account on one device ends the member’s sessions on every device', async () => {
  const laptop = createNodeClient<AppRouter>({ url, prefix: '/api/trpc' });
  const phone = createNodeClient<AppRouter>({ url, prefix: '/api/trpc' });
  await laptop.api.auth.register.mutate({ username: 'carol@example.com', password: 'a long password 2' });
  await phone.api.auth.login.mutate({ username: 'Carol@Example.com', password: 'a long password 2' });
  expect(await phone.api.cart.get.query()).toEqual([]);
  expect(await laptop.api.closeAccount.mutate()).toEqual({ closed: true, endedSessions: 2 });
  const onPhone = await phone.api.cart.get.query().catch((error: unknown) => error);
  expect((onPhone as TRPCClientError<AppRouter>).data?.httpStatus).toBe(401);
  const again = await phone.api.auth.login.mutate({ username: 'carol@example.com', password: 'a long password 2' }).catch((error: unknown) => error);
  expect((again as TRPCClientError<AppRouter>).data?.httpStatus).toBe(401);
});

it('a login that is not an email is a 400 before the member table is asked: no account is made', async () => {
  const { api } = createNodeClient<AppRouter>({ url, prefix: '/api/trpc' });
  const refused = await api.auth.register.mutate({ username: 'not-an-email', password: 'a long password 3' }).catch((error: unknown) => error);
  expect((refused as TRPCClientError<AppRouter>).data?.httpStatus).toBe(400);
  const login = await api.auth.login.mutate({ username: 'not-an-email', password: 'a long password 3' }).catch((error: unknown) => error);
  expect((login as TRPCClientError<AppRouter>).data?.httpStatus).toBe(400);
});

it('malformed JSON, refused by the shop’s own body parser, is a clean 400 in tRPC’s error shape with a request id', async () => {
  const res = await fetch(`${url}/api/trpc/auth.login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":' });
  expect(res.status).toBe(400);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const requestId = res.headers.get('x-request-id');
  expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
  const body = (await res.json()) as { error: { data: { code: string; httpStatus: number; requestId: string } } };
  expect(body.error.data).toMatchObject({ code: 'PARSE_ERROR', httpStatus: 400, requestId });
});

it('the shop’s own sign-out route refuses a sibling subdomain’s form post (403, still signed in) and signs out from the shop’s own page', async () => {
  const { api, jar } = createNodeClient<AppRouter>({ url, prefix: '/api/trpc' });
  await api.auth.register.mutate({ username: 'dana@example.com', password: 'a long password 4' });
  const cookie = await jar.getCookieString(url);
  const forged = await fetch(`${url}/account/sign-out`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: 'https://blog.example.com', 'sec-fetch-site': 'same-site' },
    body: 'x=1',
  });
  expect(forged.status).toBe(403);
  expect(await api.cart.get.query()).toEqual([]);
  const own = await fetch(`${url}/account/sign-out`, { method: 'POST', headers: { cookie, origin: url, 'sec-fetch-site': 'same-origin' } });
  expect(await own.json()).toEqual({ signedOut: true });
  const after = await fetch(`${url}/account`, { headers: { cookie } });
  expect(await after.json()).toEqual({ signedIn: false });
});

it('malformed JSON to the shop’s own REST route answers as Koa does: 400, plain text, a request id; not tRPC’s shape', async () => {
  const res = await fetch(`${url}/api/partner/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sku":' });
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  expect(await res.text()).toBe('Bad Request');
  expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
});
