import { initGatehouse } from 'koa-gatehouse';
import { z } from 'zod';
import './catalog.js';

/** The shop's members: its own ids, fields and roles. */
export const memberSchema = z.object({
  id: z.string(),
  email: z.email(),
  name: z.string(),
  role: z.enum(['customer', 'staff', 'admin']),
});
export type Member = z.infer<typeof memberSchema>;

/** What a member may choose (the client sends any of them: `preferencesSchema.partial()`). */
export const preferencesSchema = z.object({
  currency: z.enum(['EUR', 'USD', 'GBP']),
  pageSize: z.number().int().min(5).max(100),
});

/** What the shop keeps in a session; a fresh sign-in starts from these defaults. */
export const sessionDataSchema = z.object({
  currency: preferencesSchema.shape.currency.default('EUR'),
  pageSize: preferencesSchema.shape.pageSize.default(20),
  cart: z.array(z.object({ sku: z.string(), quantity: z.number().int().positive() })).max(50).default([]),
});

/**
 * The shop's sessions: its members, its session data, and its own context
 * field (the catalog the app puts on Koa's context). Types and procedure
 * builders only — no secrets, no I/O — so routers and tests import it
 * freely; `createGatehouse(gh, …)` in app.ts makes it run.
 */
export const gh = initGatehouse({
  user: memberSchema,
  sessionData: sessionDataSchema,
  // Members sign in with their email: anything else is a 400 before the member table is asked.
  credentials: z.object({ username: z.email().toLowerCase(), password: z.string().min(10).max(128) }),
  context: (koa) => ({ catalog: koa.catalog }),
  isAdmin: (member) => member.role === 'admin',
});
