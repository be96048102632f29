import { createGatehouseClient, isTRPCClientError } from 'koa-gatehouse/client';
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
    const close = document.createElement('button');
    close.textContent = 'Close my account';
    close.addEventListener('click', () => void closeAccount());
    root.append(close);
    api.orderUpdates.subscribe(undefined, {
      onData: (update) => {
        status.textContent = update.message;
      },
      // A browser's EventSource never says why a stream closed (a 401 looks like a network error): ask the server
      // whether the session is still live instead of guessing from the error.
      onError: (error) => void afterStreamError(status, error.data?.requestId),
    });
  }
}

/** A subscription failed: signed out (ended elsewhere, timed out) shows the signed-out page; otherwise say it stopped. */
async function afterStreamError(status: HTMLElement, requestId: string | undefined): Promise<void> {
  const me = await api.auth.me.query().catch(() => undefined);
  if (me === null) await show();
  else status.textContent = `Order updates stopped${me ? '' : ': the shop is unreachable'} (request ${requestId ?? 'unknown'}). Reload to try again.`;
}

/** A sensitive action: past the fresh-login window the server answers 412 FRESH_LOGIN_REQUIRED; confirm the password and retry. */
async function closeAccount(): Promise<void> {
  try {
    await api.closeAccount.mutate();
  } catch (error) {
    if (!isTRPCClientError<AppRouter>(error) || error.data?.reason !== 'FRESH_LOGIN_REQUIRED') throw error;
    const password = window.prompt('Confirm your password to close your account');
    if (!password) return;
    await api.auth.reauthenticate.mutate({ password });
    await api.closeAccount.mutate();
  }
  await show();
}

void show();
