import type { inferRouterError, inferRouterInputs, inferRouterOutputs, TRPC_ERROR_CODE_KEY } from '@trpc/server';
import type Koa from 'koa';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  type AccountsAdapter,
  createGatehouse,
  type Frozen,
  type Gatehouse,
  type GatehouseOptions,
  initGatehouse,
  type KeyValueStore,
  protectedProcedure,
  publicProcedure,
  router,
  type SessionView,
  type User,
  userSchema,
} from '../server/index.js';
import { createGatehouseClient, type TRPCClientError } from '../client/index.js';
import { createTestCaller } from '../server/testing.js';
import { type Member, team, teamDataSchema, teamRouter, type TeamRouter } from './helpers/teamApp.js';

// Issue 11: the promises the types make, checked by the compiler (`npm run typecheck` runs over this file). Each
// `@ts-expect-error` fails the typecheck if the line it guards ever compiles.

type TeamData = z.output<typeof teamDataSchema>;

describe('types', () => {
  it('a protected procedure’s ctx.user is the team’s user (frozen), never null; a public one’s may be null', () => {
    team.protectedProcedure.query(({ ctx }) => {
      expectTypeOf(ctx.user).toEqualTypeOf<Frozen<Member>>();
      expectTypeOf(ctx.user.role).toEqualTypeOf<'member' | 'staff' | 'admin'>();
      expectTypeOf(ctx.session.current.data).toEqualTypeOf<Frozen<TeamData>>();
      return null;
    });
    team.publicProcedure.query(({ ctx }) => {
      expectTypeOf(ctx.user).toEqualTypeOf<Frozen<Member> | null>();
      // @ts-expect-error: a public procedure may run without a session
      void ctx.session.current.data;
      return null;
    });
    team.adminProcedure.query(({ ctx }) => expectTypeOf(ctx.user).toEqualTypeOf<Frozen<Member>>());
    team.freshProcedure.query(({ ctx }) => expectTypeOf(ctx.user).toEqualTypeOf<Frozen<Member>>());
  });

  it('the team’s own context fields are typed next to Gatehouse’s', () => {
    team.publicProcedure.query(({ ctx }) => {
      expectTypeOf(ctx.tenant).toEqualTypeOf<string>();
      expectTypeOf(ctx.db).toEqualTypeOf<{ name: string }>();
      expectTypeOf(ctx.requestId).toEqualTypeOf<string>();
      return null;
    });
  });

  it('a wrong field in session data, or a wrong value, does not compile', () => {
    team.protectedProcedure.mutation(async ({ ctx }) => {
      await ctx.session.update({ theme: 'dark' });
      // @ts-expect-error: no such field in the team's session data
      await ctx.session.update({ colour: 'red' });
      // @ts-expect-error: not one of the schema's themes
      await ctx.session.update({ theme: 'purple' });
      // @ts-expect-error: the function must return the data's shape
      await ctx.session.update((data) => ({ ...data, cart: 'not a list' }));
      return null;
    });
  });

  it('session.start takes the team’s user, and its data argument is optional because every field has a default', () => {
    team.publicProcedure.mutation(async ({ ctx }) => {
      await ctx.session.start({ id: 'm-1', email: 'a@b.example', role: 'staff' });
      await ctx.session.start({ id: 'm-1', email: 'a@b.example', role: 'staff' }, { theme: 'dark' });
      // @ts-expect-error: the team's user has an email
      await ctx.session.start({ id: 'm-1', role: 'staff' });
      // @ts-expect-error: not one of the team's roles
      await ctx.session.start({ id: 'm-1', email: 'a@b.example', role: 'root' });
      return null;
    });
    // With data that has a required field, start needs the data.
    const strict = initGatehouse({ sessionData: z.object({ tenantId: z.string() }) });
    strict.publicProcedure.mutation(async ({ ctx }) => {
      await ctx.session.start({ id: 'u', username: 'u', role: 'user' }, { tenantId: 't' });
      // @ts-expect-error: tenantId has no default
      await ctx.session.start({ id: 'u', username: 'u', role: 'user' });
      return null;
    });
  });

  it('the client sees the team’s user in the built-in procedures’ answers, and the inputs they take', () => {
    type Out = inferRouterOutputs<TeamRouter>;
    type In = inferRouterInputs<TeamRouter>;
    expectTypeOf<Out['auth']['me']>().toEqualTypeOf<{ user: Member; session: SessionView } | null>();
    expectTypeOf<Out['auth']['login']>().toEqualTypeOf<{ user: Member; token?: string }>();
    // Returned as it is, with no output schema: the client is told the session's frozen type.
    expectTypeOf<Out['preferences']>().toEqualTypeOf<Frozen<TeamData>>();
    expectTypeOf<Out['admin']['setRole']['user']>().toEqualTypeOf<Member>();
    expectTypeOf<In['auth']['login']>().toEqualTypeOf<{ username: string; password: string } & { staySignedIn?: boolean }>();
    expectTypeOf<In['auth']['reauthenticate']>().toEqualTypeOf<{ password: string }>();
  });

  it('a host route’s sessionOf() is typed by the definition', () => {
    const hostRoute = (gatehouse: Gatehouse<Member, TeamData, z.input<typeof teamDataSchema>>, koa: Koa.Context) => {
      const session = gatehouse.sessionOf(koa);
      expectTypeOf(session.current?.data.theme).toEqualTypeOf<'light' | 'dark' | undefined>();
      expectTypeOf(session.current?.user.email).toEqualTypeOf<string | undefined>();
    };
    void hostRoute;
  });

  it('a context of the team’s own may not take the name of one of Gatehouse’s fields', () => {
    // @ts-expect-error: `user` is Gatehouse's
    initGatehouse({ context: () => ({ user: 'mine' }) });
    // @ts-expect-error: from an async factory too (its promise passed for the fields, unchecked, and ctx was never)
    initGatehouse({ context: async () => ({ session: 'mine', tenant: 'acme' }) });
    initGatehouse({ context: () => ({ currentUserName: 'fine' }) });
  });

  it('without a definition, the built-in user: ctx.user is { id, username, role }', () => {
    protectedProcedure.query(({ ctx }) => expectTypeOf(ctx.user).toEqualTypeOf<Frozen<User>>());
    publicProcedure.query(({ ctx }) => expectTypeOf(ctx.session.current?.user).toEqualTypeOf<Frozen<User> | undefined>());
    const built = router({ hello: publicProcedure.query(() => 'hi') });
    expectTypeOf<inferRouterOutputs<typeof built>['hello']>().toEqualTypeOf<string>();
    void built;
  });

  it('a client error carries Gatehouse’s error data — requestId, fieldErrors, retryAfterSeconds, reason — with no cast (issue 19.3)', () => {
    type Data = NonNullable<TRPCClientError<TeamRouter>['data']>;
    expectTypeOf<Data['code']>().toEqualTypeOf<TRPC_ERROR_CODE_KEY>();
    expectTypeOf<Data['httpStatus']>().toEqualTypeOf<number>();
    expectTypeOf<Data['requestId']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Data['fieldErrors']>().toEqualTypeOf<Record<string, string[]> | undefined>();
    expectTypeOf<Data['retryAfterSeconds']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<Data['reason']>().toEqualTypeOf<'FRESH_LOGIN_REQUIRED' | undefined>();
    expectTypeOf<inferRouterError<TeamRouter>['data']>().toEqualTypeOf<Data>();
    // The README's fresh-login retry, as a subscription's onError gets the error: typed by the router, no cast.
    const api = createGatehouseClient<TeamRouter>();
    const retryAfterFreshLogin = (error: TRPCClientError<TeamRouter>) => error.data?.reason === 'FRESH_LOGIN_REQUIRED' && error.data.requestId !== undefined;
    // @ts-expect-error: not a reason Gatehouse gives (a typo is caught)
    const typo = (error: TRPCClientError<TeamRouter>) => error.data?.reason === 'FRESH_LOGIN';
    void api;
    void retryAfterFreshLogin;
    void typo;
  });

  it('the testing helper types an inline user, data and context by the definition: a literal compiles, a wrong field is an error on that field (issue 19.2)', () => {
    const context = { tenant: 'acme', db: { name: 'test-db' } };
    const inline = () =>
      createTestCaller({ gatehouse: team, router: teamRouter, user: { id: 'm-1', email: 'a@b.example', role: 'member' }, data: { theme: 'dark' }, context });
    expectTypeOf<Awaited<ReturnType<typeof inline>>['ctx']['user']>().toEqualTypeOf<Frozen<Member> | null>();
    const wrongRole = () =>
      createTestCaller({
        gatehouse: team,
        router: teamRouter,
        user: {
          id: 'm-1',
          email: 'a@b.example',
          // @ts-expect-error: not one of the team's roles — the error is on this line, not on `gatehouse`
          role: 'nobody',
        },
        context,
      });
    const wrongData = () =>
      createTestCaller({
        gatehouse: team,
        router: teamRouter,
        user: { id: 'm-1', email: 'a@b.example', role: 'staff' },
        data: {
          // @ts-expect-error: not one of the schema's themes
          theme: 'purple',
        },
        context,
      });
    const wrongContext = () =>
      createTestCaller({
        gatehouse: team,
        router: teamRouter,
        context: {
          tenant: 'acme',
          // @ts-expect-error: the team's db is { name: string }
          db: { name: 42 },
        },
      });
    void inline;
    void wrongRole;
    void wrongData;
    void wrongContext;
  });

  it('createGatehouse’s options, as start-up checks them: the team’s own user needs accounts; a store instance takes no storeNamespace or storeTimeout (issue 19.8)', () => {
    const keys = ['k'.repeat(32)];
    const start = async (accounts: AccountsAdapter<Member>, store: KeyValueStore) => {
      // @ts-expect-error: initGatehouse({ user }) defines the team's own user: accounts is required
      await createGatehouse(team, { keys });
      await createGatehouse(team, { keys, accounts });
      // The built-in user, with or without a definition of its own data: the built-in directory serves it.
      await createGatehouse({ keys });
      await createGatehouse(initGatehouse({ sessionData: z.object({ theme: z.string().default('light') }) }), { keys });
      // Gatehouse's user schema given explicitly is a user of the team's own, as at run time.
      // @ts-expect-error: accounts is required
      await createGatehouse(initGatehouse({ user: userSchema }), { keys });
      // A store URL takes a namespace and a deadline; a store instance keeps those it was opened with.
      await createGatehouse(team, { keys, accounts, store: 'redis://127.0.0.1:6379', storeNamespace: 'shop', storeTimeout: '2s' });
      await createGatehouse(team, { keys, accounts, store });
      // Options typed for any store (the default), as an app keeps them, spread into a call with a URL.
      const extra: Omit<GatehouseOptions<Member>, 'keys' | 'store' | 'accounts'> = { storeTimeout: '2s', idleTimeout: '1h' };
      await createGatehouse(team, { ...extra, keys, accounts, store: 'memory://' });
      await createGatehouse(team, {
        keys,
        accounts,
        store,
        // @ts-expect-error: a store instance keeps the namespace it was opened with
        storeNamespace: 'shop',
      });
      await createGatehouse({
        keys,
        store,
        // @ts-expect-error: a store instance keeps the deadline it was opened with
        storeTimeout: '2s',
      });
    };
    void start;
  });

  it('a session’s user and data are deeply read-only, as they are frozen at run time, and still pass where the team’s own types expect them', () => {
    team.protectedProcedure.mutation(async ({ ctx }) => {
      const { data } = ctx.session.current;
      // @ts-expect-error: frozen (a 500 at run time): change it with ctx.session.update()
      data.theme = 'dark';
      // @ts-expect-error: its arrays too
      data.cart.push('tea');
      // @ts-expect-error: and their items
      data.cart[0] = 'tea';
      // @ts-expect-error: the user is frozen as well
      ctx.user.role = 'admin';
      // @ts-expect-error: and so is what update() resolves
      (await ctx.session.update({ theme: 'dark' })).theme = 'light';
      // The function form gets a copy of its own to change in place.
      await ctx.session.update((copy) => {
        copy.cart.push('tea');
        copy.theme = 'dark';
        return copy;
      });
      return null;
    });
    // Where the team's own types expect a plain member, data or list, the frozen ones still pass.
    const emailOf = (member: Member) => member.email;
    const countOf = (items: string[]) => items.length;
    const withData = (data: TeamData) => data.theme;
    team.protectedProcedure.query(({ ctx }) => [emailOf(ctx.user), countOf(ctx.session.current.data.cart), withData(ctx.session.current.data)]);
    // An output schema of the data schema takes the session's data as it is, and the client sees the plain type.
    const withSchemas = team.router({
      preferences: team.protectedProcedure.output(teamDataSchema).query(({ ctx }) => ctx.session.current.data),
      me: team.protectedProcedure.output(z.object({ id: z.string(), email: z.string(), role: z.string() })).query(({ ctx }) => ctx.user),
    });
    expectTypeOf<inferRouterOutputs<typeof withSchemas>['preferences']>().toEqualTypeOf<TeamData>();
    void withSchemas;
  });
});
