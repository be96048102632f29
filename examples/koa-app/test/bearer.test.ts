import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from 'koa-gatehouse';
import { createNodeClient, TRPCClientError } from 'koa-gatehouse/client/node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { shopCli } from '../snippets/shopCli.js';
import { createShopApp } from '../src/app.js';
import type { AppRouter } from '../src/router.js';

// The shop's CLI (snippets/shopCli.ts) over real HTTP: a bearer session kept in a 0600 file, no cookie jar, and a
// subscription whose token rides in a header. Ending the session elsewhere ends its stream.
let server: Server;
let url: string;
let dir: string;
let close: () => Promise<void>;
beforeAll(async () => {
  const { app, gatehouse } = await createShopApp({
    keys: ['example-key-0123456789-abcdefghijklmnopqrstuvwxyz'],
    gatehouse: { cookie: { secure: false }, logger: createLogger('silent') },
  });
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'shop-cli-'));
  close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await gatehouse.close();
    rmSync(dir, { recursive: true, force: true });
  };
});
afterAll(() => close());

/** The first update of a subscription, and how it ended (its error), as promises. */
function watchOrders(api: ReturnType<typeof shopCli>['api']) {
  let showUpdate!: (message: string) => void;
  let sessionEnded!: (error: TRPCClientError<AppRouter>) => void;
  const firstUpdate = new Promise<string>((resolve) => (showUpdate = resolve));
  const endedWith = new Promise<TRPCClientError<AppRouter>>((resolve) => (sessionEnded = resolve));
  // #region readme-subscribe
  const subscription = api.orderUpdates.subscribe(undefined, {
    onData: (update) => showUpdate(update.message),
    // The session ended (signed out elsewhere, revoked): the stream ends, and its reconnect is refused with 401;
    // re-check with auth.me before showing the signed-out state.
    onError: (error) => sessionEnded(error),
  });
  // #endregion readme-subscribe
  return { subscription, firstUpdate, endedWith };
}

it('the CLI signs in with a bearer token kept in a 0600 file, watches its orders, and the stream ends when the website revokes it', async () => {
  const tokenFile = join(dir, 'erin', 'tokens.json');
  // #region readme-cli
  const { api, tokens } = shopCli(url, tokenFile);
  if ((await tokens.get('session')) === undefined) {
    await api.auth.register.mutate({ username: 'erin@example.com', password: 'a long password 5' });
  }
  expect(await api.cart.get.query()).toEqual([]);
  // #endregion readme-cli
  const saved = JSON.parse(readFileSync(tokenFile, 'utf8')) as Record<string, string>;
  expect([(statSync(tokenFile).mode & 0o777).toString(8), saved['session']]).toEqual(['600', await tokens.get('session')]);

  const watch = watchOrders(api);
  expect(await watch.firstUpdate).toBe('Hello erin, watching your orders.');

  // Erin, on the shop's website (a cookie session), sees the CLI in her session list and signs it out.
  const website = createNodeClient<AppRouter>({ url, prefix: '/api/trpc' });
  await website.api.auth.login.mutate({ username: 'erin@example.com', password: 'a long password 5' });
  const cli = (await website.api.sessions.list.query()).find((session) => session.carrier === 'bearer');
  expect(cli).toMatchObject({ carrier: 'bearer', current: false });
  await website.api.sessions.revoke.mutate({ id: cli!.id });

  // The stream ended, and its reconnect was refused. Whether onError's error carries the 401's data depends on the
  // tRPC version (11.22 loses it), so ask the server, as a browser's client must anyway.
  expect(await watch.endedWith).toBeInstanceOf(TRPCClientError);
  watch.subscription.unsubscribe();
  expect(await api.auth.me.query()).toBeNull();
  const after = await api.cart.get.query().then(
    () => 'answered',
    (error: TRPCClientError<AppRouter>) => error.data?.httpStatus,
  );
  expect(after).toBe(401);
  // The client forgot the refused token.
  expect(await tokens.get('session')).toBeUndefined();
  expect(await website.api.cart.get.query()).toEqual([]);
});

it('signed out in another terminal (another client on the same token file): the open stream ends, and the file holds no token', async () => {
  const tokenFile = join(dir, 'finn', 'tokens.json');
  const watching = shopCli(url, tokenFile);
  await watching.api.auth.register.mutate({ username: 'finn@example.com', password: 'a long password 6' });
  const watch = watchOrders(watching.api);
  expect(await watch.firstUpdate).toBe('Hello finn, watching your orders.');

  const otherTerminal = shopCli(url, tokenFile);
  expect(await otherTerminal.api.auth.logout.mutate()).toEqual({ loggedOut: true });

  expect(await watch.endedWith).toBeInstanceOf(TRPCClientError);
  watch.subscription.unsubscribe();
  expect(await watching.api.auth.me.query()).toBeNull();
  expect(await watching.tokens.get('session')).toBeUndefined();
  expect(() => statSync(tokenFile)).toThrow(/ENOENT/);
});
