import { createGatehouse, type Frozen, initGatehouse, openStore } from 'koa-gatehouse';
import type { TRPCClientError } from 'koa-gatehouse/client/node';
import { createTestCaller } from 'koa-gatehouse/testing';
import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { createCatalog, demoProducts } from '../src/catalog.js';
import { gh, type Member, preferencesSchema, type sessionDataSchema } from '../src/gatehouse.js';
import { type AppRouter, appRouter } from '../src/router.js';
import { MemberTable } from '../src/users.js';

// The promises Gatehouse's types make, through the packed package's declarations, under this project's strict
// settings (tsconfig.test.json: NodeNext, exactOptionalPropertyTypes, skipLibCheck off) on TypeScript 5.9 and 7.
// The compiler checks them (npm run typecheck); each `@ts-expect-error` fails it if its line ever compiles.

type ShopData = z.output<typeof sessionDataSchema>;
const keys = ['example-key-0123456789-abcdefghijklmnopqrstuvwxyz'];
const catalog = createCatalog(demoProducts);

describe('the shop’s types (issue 19)', () => {
  it('a client error’s data is Gatehouse’s: requestId and reason, with no cast', () => {
    type Data = NonNullable<TRPCClientError<AppRouter>['data']>;
    expectTypeOf<Data['requestId']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Data['reason']>().toEqualTypeOf<'FRESH_LOGIN_REQUIRED' | undefined>();
    const needsFreshLogin = (error: TRPCClientError<AppRouter>) => error.data?.reason === 'FRESH_LOGIN_REQUIRED';
    void needsFreshLogin;
  });

  it('update() takes zod’s .partial() output under exactOptionalPropertyTypes', () => {
    gh.protectedProcedure.input(preferencesSchema.partial()).mutation(async ({ ctx, input }) => {
      await ctx.session.update(input);
      await ctx.session.update({ pageSize: input.pageSize });
      return null;
    });
  });

  it('the session’s data and user are read-only, as they are frozen', () => {
    gh.protectedProcedure.mutation(({ ctx }) => {
      expectTypeOf(ctx.session.current.data).toEqualTypeOf<Frozen<ShopData>>();
      // @ts-expect-error: frozen: change it with ctx.session.update()
      ctx.session.current.data.pageSize = 5;
      // @ts-expect-error: the user too
      ctx.user.role = 'admin';
      return null;
    });
  });

  it('the testing helper takes an inline member; a role the shop does not have is an error on that line', () => {
    const test = async (members: MemberTable) => {
      await createTestCaller({ gatehouse: gh, router: appRouter, user: { id: 'm-1', email: 'a@example.com', name: 'A', role: 'staff' }, context: { catalog }, accounts: members });
      await createTestCaller({
        gatehouse: gh,
        router: appRouter,
        user: {
          id: 'm-1',
          email: 'a@example.com',
          name: 'A',
          // @ts-expect-error: not one of the shop's roles
          role: 'owner',
        },
        context: { catalog },
        accounts: members,
      });
    };
    void test;
  });

  it('createGatehouse refuses what start-up refuses: no accounts for the shop’s own members, a namespace next to an opened store', () => {
    const start = async (members: MemberTable) => {
      // @ts-expect-error: the shop defines its own members, so accounts is required
      await createGatehouse(gh, { keys });
      const store = await openStore({ url: 'memory://', timeoutMs: 1_000 });
      await createGatehouse(gh, {
        keys,
        accounts: members,
        store,
        // @ts-expect-error: a store instance keeps the namespace it was opened with
        storeNamespace: 'shop',
      });
    };
    void start;
  });

  it('a context field under a name Gatehouse reserves is an error', () => {
    // @ts-expect-error: ctx.user is Gatehouse's
    initGatehouse({ context: () => ({ user: 'mine' }) });
    expectTypeOf<Member['role']>().toEqualTypeOf<'customer' | 'staff' | 'admin'>();
  });
});
