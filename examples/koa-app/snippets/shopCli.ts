// README, "A Node CLI": the shop's command-line client. A bearer session (a CLI keeps no cookies) whose tokens
// live in a file only its user can read; subscriptions send the token in a header, never in the URL.
import { EventSource } from 'eventsource';
// Only in a project without the DOM lib that checks its dependencies' types (skipLibCheck: false).
import type {} from 'koa-gatehouse/client/node-globals';
import { createBearerClient, fileTokenStore } from 'koa-gatehouse/client/node';
import type { AppRouter } from '../src/router.js';

/** The typed client of `shop-cli`: `SHOP_TOKEN_FILE`, or a file under the user's config directory. */
export function shopCli(url: string, tokenFile = process.env['SHOP_TOKEN_FILE'] ?? '~/.config/tea-shop/tokens.json') {
  return createBearerClient<AppRouter>({ url, prefix: '/api/trpc', tokens: fileTokenStore(tokenFile), EventSource });
}
