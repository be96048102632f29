import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { accountActions } from 'koa-gatehouse';
import { gh, preferencesSchema } from './gatehouse.js';

/** The shop's API: Gatehouse's own procedures (auth, sessions, admin) next to the shop's. */
export const appRouter = gh.router({
  ...gh.routes,

  /** Anyone: the catalog. */
  products: gh.publicProcedure.query(({ ctx }) => ctx.catalog.all()),

  cart: gh.router({
    /** The signed-in member's cart, from the session's typed data. */
    get: gh.protectedProcedure.query(({ ctx }) => ctx.session.current.data.cart),
    /** Adds a product; the session data is validated (at most 50 lines) before it is written. */
    add: gh.protectedProcedure.input(z.object({ sku: z.string(), quantity: z.number().int().positive().max(99) })).mutation(async ({ ctx, input }) => {
      if (!ctx.catalog.find(input.sku)) throw new TRPCError({ code: 'NOT_FOUND', message: `No product "${input.sku}".` });
      const data = await ctx.session.update((current) => ({ ...current, cart: [...current.cart, input] }));
      return data.cart;
    }),
  }),

  /** The member's preferences, kept in the session: what the client left out (or sent as undefined) stays as it is. */
  setPreferences: gh.protectedProcedure.input(preferencesSchema.partial()).mutation(async ({ ctx, input }) => {
    const { currency, pageSize } = await ctx.session.update(input);
    return { currency, pageSize };
  }),

  /** A sensitive action: needs a sign-in from the last 10 minutes (else 412, and the client asks for the password). */
  closeAccount: gh.freshProcedure.mutation(async ({ ctx }) => {
    const account = await ctx.services.accounts.findById(ctx.user.id);
    if (!account) throw new TRPCError({ code: 'NOT_FOUND', message: 'No such member.' });
    // Disables the member and ends every session of theirs, on every device; then clears this browser's cookie.
    const closed = await accountActions.disable(ctx.services, account);
    await ctx.session.end();
    return { closed: true, endedSessions: closed?.endedSessions ?? 0 };
  }),

  /** Live order updates over SSE: checked when the stream opens, ended when the session ends. */
  orderUpdates: gh.protectedProcedure.subscription(async function* ({ ctx, signal }) {
    yield { message: `Hello ${ctx.user.name}, watching your orders.` };
    let tick = 0;
    while (!signal?.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
      });
      if (!signal?.aborted) yield { message: `No change (${(tick += 1)})` };
    }
  }),
});

/** What the shop's frontend imports (`import type`): every call typed, no server code in the bundle. */
export type AppRouter = typeof appRouter;
