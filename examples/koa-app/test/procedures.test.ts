import { afterEach, describe, expect, it } from 'vitest';
import { createTestCaller } from 'koa-gatehouse/testing';
import { createCatalog, demoProducts } from '../src/catalog.js';
import { gh, type Member } from '../src/gatehouse.js';
import { appRouter } from '../src/router.js';
import { MemberTable } from '../src/users.js';

// The shop's own procedures through Gatehouse's testing helper: no HTTP, the same validation as production.
// #region readme
const alice: Member = { id: 'm-alice', email: 'alice@example.com', name: 'Alice', role: 'customer' };
const catalog = createCatalog(demoProducts);
const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((caller) => caller.close()));
});

async function signedIn(member: Member = alice) {
  const caller = await createTestCaller({ gatehouse: gh, router: appRouter, user: member, context: { catalog }, accounts: await MemberTable.create() });
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
// #endregion readme

describe('the shop’s procedures', () => {
  it('setCurrency writes the session data; a currency the schema does not know is refused before anything runs', async () => {
    const { caller, session } = await signedIn();
    expect(await caller.setCurrency({ currency: 'GBP' })).toBe('GBP');
    expect(session.current?.data.currency).toBe('GBP');
    await expect(caller.setCurrency({ currency: 'JPY' as 'EUR' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('a member with a role the shop does not have is refused here exactly as in production', async () => {
    await expect(signedIn({ ...alice, role: 'root' as Member['role'] })).rejects.toThrow('does not match the user schema');
  });

  it('closeAccount needs a fresh sign-in: 412 after ten minutes', async () => {
    let now = Date.now();
    const caller = await createTestCaller({
      gatehouse: gh,
      router: appRouter,
      user: alice,
      context: { catalog },
      accounts: await MemberTable.create(),
      clock: { now: () => now },
    });
    opened.push(caller);
    now += 11 * 60_000;
    await expect(caller.caller.closeAccount()).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
  });

  it('anonymous callers get UNAUTHORIZED from protected procedures and see the catalog', async () => {
    const anonymous = await createTestCaller({ gatehouse: gh, router: appRouter, context: { catalog }, accounts: await MemberTable.create() });
    opened.push(anonymous);
    expect(await anonymous.caller.products()).toHaveLength(3);
    await expect(anonymous.caller.cart.get()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});
