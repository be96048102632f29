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
  expect(await api.setCurrency.mutate({ currency: 'USD' })).toBe('USD');

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
