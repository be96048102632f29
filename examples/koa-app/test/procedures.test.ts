import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from 'koa-gatehouse';
import { createTestCaller } from 'koa-gatehouse/testing';
import { createCatalog, demoProducts } from '../src/catalog.js';
import { gh, type Member } from '../src/gatehouse.js';
import { appRouter } from '../src/router.js';
import { MemberTable } from '../src/users.js';

// The shop's own procedures through Gatehouse's testing helper: no HTTP, the same validation as production.
// #region readme
const catalog = createCatalog(demoProducts);
const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((caller) => caller.close()));
});

/** Alice, signed in; `clock` moves time for the session's timeouts and fresh logins. */
async function signedIn(clock?: Clock) {
  const caller = await createTestCaller({
    gatehouse: gh,
    router: appRouter,
    // Typed by the shop's definition: a role it does not have is an error on this line.
    user: { id: 'm-alice', email: 'alice@example.com', name: 'Alice', role: 'customer' },
    context: { catalog },
    accounts: await MemberTable.create(),
    ...(clock ? { clock } : {}),
  });
  opened.push(caller);
  return caller;
}

it('cart.add keeps the cart in the session’s typed data; an unknown product is NOT_FOUND and changes nothing', async () => {
  const { caller, session } = await signedIn();
  expect(await caller.cart.get()).toEqual([]);
  expect(await caller.cart.add({ sku: 'mug', quantity: 2 })).toEqual([{ sku: 'mug', quantity: 2 }]);
  await expect(caller.cart.add({ sku: 'teapot', quantity: 1 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  expect(session.current?.data.cart).toEqual([{ sku: 'mug', quantity: 2 }]);
});

it('a session left idle past the 30-minute timeout is over: UNAUTHORIZED, as over HTTP', async () => {
  let now = Date.now();
  const { caller } = await signedIn({ now: () => now });
  now += 29 * 60_000;
  expect(await caller.cart.get()).toEqual([]); // still alive, and extended
  now += 31 * 60_000;
  await expect(caller.cart.get()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
});
// #endregion readme

describe('the shop’s procedures', () => {
  it('setPreferences changes only what the client sent; a currency the schema does not know is refused before anything runs', async () => {
    const { caller, session } = await signedIn();
    expect(await caller.setPreferences({ pageSize: 50 })).toEqual({ currency: 'EUR', pageSize: 50 });
    expect(await caller.setPreferences({ currency: 'GBP' })).toEqual({ currency: 'GBP', pageSize: 50 });
    // A field sent as undefined (a form's untouched field) keeps its value too: update() leaves it as it is.
    expect(await caller.setPreferences({ currency: 'USD', pageSize: undefined })).toEqual({ currency: 'USD', pageSize: 50 });
    expect(session.current?.data).toMatchObject({ currency: 'USD', pageSize: 50 });
    await expect(caller.setPreferences({ currency: 'JPY' as 'EUR' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('a member with a role the shop does not have is refused here exactly as in production', async () => {
    const root = { id: 'm-root', email: 'root@example.com', name: 'Root', role: 'root' } as unknown as Member;
    await expect(createTestCaller({ gatehouse: gh, router: appRouter, user: root, context: { catalog }, accounts: await MemberTable.create() })).rejects.toThrow(
      'does not match the user schema',
    );
  });

  it('closeAccount needs a fresh sign-in: 412 FRESH_LOGIN_REQUIRED after ten minutes', async () => {
    let now = Date.now();
    const { caller } = await signedIn({ now: () => now });
    now += 11 * 60_000;
    await expect(caller.closeAccount()).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
  });

  it('anonymous callers get UNAUTHORIZED from protected procedures and see the catalog', async () => {
    const anonymous = await createTestCaller({ gatehouse: gh, router: appRouter, context: { catalog }, accounts: await MemberTable.create() });
    opened.push(anonymous);
    expect(await anonymous.caller.products()).toHaveLength(3);
    await expect(anonymous.caller.cart.get()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});
