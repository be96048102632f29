import { createGatehouseClient, TRPCClientError } from 'koa-gatehouse/client';
import type { AppRouter } from './router.js';

/**
 * The shop's frontend: the typed client under the shop's prefix. It
 * imports the server only as a type, so no server code is bundled
 * (scripts/check-bundle.mjs checks that).
 */
const api = createGatehouseClient<AppRouter>({ prefix: '/api/trpc', streamQueries: true });
const root = document.getElementById('shop')!;

async function show(): Promise<void> {
  const [products, me] = await Promise.all([api.products.query(), api.auth.me.query()]);
  const list = document.createElement('ul');
  for (const product of products) {
    const item = document.createElement('li');
    item.textContent = `${product.title} — ${(product.priceCents / 100).toFixed(2)}`;
    list.append(item);
  }
  const status = document.createElement('p');
  status.textContent = me ? `Signed in as ${me.user.name} (${me.user.role})` : 'Not signed in';
  root.replaceChildren(status, list);
  if (me) {
    api.orderUpdates.subscribe(undefined, {
      onData: (update) => {
        status.textContent = update.message;
      },
      onError: (error) => {
        if (error instanceof TRPCClientError && error.data?.code === 'UNAUTHORIZED') void show();
      },
    });
  }
}

void show();
