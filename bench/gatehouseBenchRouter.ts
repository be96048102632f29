import { z } from 'zod';
import { referenceRoutes as gatehouseRoutes } from '../server/reference/router.js';
import { publicProcedure, router } from '../server/trpc/init.js';
import { benchUser } from './stacks/announce.js';

/**
 * The reference router plus `bench.login`: starts a session for a named user
 * without a password, so the benchmark measures the session cost and not
 * argon2 (whose cost it reports separately). Bench-only: it is mounted only
 * by bench/stacks/gatehouse.ts, never by server/.
 */
export const gatehouseBenchRouter = router({
  ...gatehouseRoutes,
  bench: router({
    login: publicProcedure.input(z.object({ username: z.string().min(1).max(64) })).mutation(async ({ ctx, input }) => {
      const user = benchUser(input.username);
      await ctx.session.start(user);
      return { user };
    }),
  }),
});
