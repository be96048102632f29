import { randomUUID, scryptSync, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { z } from 'zod';
import {
  type Account,
  type AccountsAdapter,
  createGatehouse,
  createLogger,
  type Gatehouse,
  type GatehouseOptions,
  initGatehouse,
  type SessionEvent,
} from '../../server/index.js';
import { ManualClock } from './clock.js';
import { TEST_KEY } from './server.js';

/** A team's user: its own id, an email, its own roles. */
export const memberSchema = z.object({
  id: z.string(),
  email: z.email(),
  role: z.enum(['member', 'staff', 'admin']),
});
export type Member = z.infer<typeof memberSchema>;

/** A team's session data, with defaults: a fresh login starts from them. */
export const teamDataSchema = z.object({
  tenantId: z.string().nullable().default(null),
  theme: z.enum(['light', 'dark']).default('light'),
  cart: z.array(z.string().max(200)).default([]),
});

/** The team's definition: its users, data and context (the tenant from a header, a "database"). */
export const team = initGatehouse({
  user: memberSchema,
  sessionData: teamDataSchema,
  context: (koa) => ({ tenant: koa.get('x-tenant') || 'public', db: { name: 'team-db' } }),
  isAdmin: (user) => user.role === 'admin' || user.role === 'staff',
});

/** The team's router: Gatehouse's routes and its own procedures. */
export const teamRouter = team.router({
  ...team.routes,
  profile: team.protectedProcedure.query(({ ctx }) => ({ email: ctx.user.email, role: ctx.user.role, tenant: ctx.tenant, db: ctx.db.name })),
  preferences: team.protectedProcedure.query(({ ctx }) => ctx.session.current.data),
  setTheme: team.protectedProcedure
    .input(z.object({ theme: z.string() }))
    .mutation(async ({ ctx, input }) => ctx.session.update({ theme: input.theme as 'light' | 'dark' })),
  addToCart: team.protectedProcedure
    .input(z.object({ item: z.string() }))
    .mutation(async ({ ctx, input }) => ctx.session.update((data) => ({ ...data, cart: [...data.cart, input.item] }))),
  staffOnly: team.adminProcedure.query(({ ctx }) => `welcome, ${ctx.user.role}`),
  closeAccount: team.freshProcedure.mutation(() => ({ closed: true })),
});
export type TeamRouter = typeof teamRouter;

const hash = (password: string, salt: Buffer) => scryptSync(password, salt, 32);

/** The team's own user table (in memory here), as an accounts adapter: email logins, scrypt hashes, versions. */
export function teamAccounts(): AccountsAdapter<Member> & { add(email: string, password: string, role: Member['role']): Member } {
  const rows = new Map<string, { user: Member; salt: Buffer; hash: Buffer; version: number; disabled: boolean }>();
  const dummy = { salt: Buffer.alloc(16), hash: hash('dummy', Buffer.alloc(16)) };
  const account = (row: { user: Member; version: number; disabled: boolean }): Account<Member> => ({ user: row.user, version: row.version, disabled: row.disabled });
  const byEmail = (email: string) => [...rows.values()].find((row) => row.user.email === email.toLowerCase());
  return {
    add(email, password, role) {
      const salt = Buffer.from(randomUUID());
      const user = { id: `m-${randomUUID()}`, email: email.toLowerCase(), role };
      rows.set(user.id, { user, salt, hash: hash(password, salt), version: 1, disabled: false });
      return user;
    },
    async authenticate(login, password) {
      const row = byEmail(login);
      const ok = timingSafeEqual(hash(password, row?.salt ?? dummy.salt), row?.hash ?? dummy.hash);
      return row && ok && !row.disabled ? account(row) : undefined;
    },
    async findById(id) {
      const row = rows.get(id);
      return row ? account(row) : undefined;
    },
    async findByLogin(login) {
      const row = byEmail(login);
      return row ? account(row) : undefined;
    },
    async verifyPassword(acct, password) {
      const row = rows.get(acct.user.id);
      return row !== undefined && timingSafeEqual(hash(password, row.salt), row.hash);
    },
    async changePassword(acct, newPassword) {
      const row = rows.get(acct.user.id);
      if (!row || row.version !== acct.version) return 'conflict';
      row.hash = hash(newPassword, row.salt);
      row.version += 1;
      return account(row);
    },
    async setDisabled(id, disabled) {
      const row = rows.get(id);
      if (!row) return undefined;
      row.disabled = disabled;
      row.version += 1;
      return account(row);
    },
    async setRole(id, role) {
      const row = rows.get(id);
      const parsed = memberSchema.shape.role.safeParse(role);
      if (!parsed.success) return 'invalid-role';
      if (!row) return undefined;
      row.user = { ...row.user, role: parsed.data };
      row.version += 1;
      return account(row);
    },
  };
}

export interface TeamServer {
  url: string;
  gatehouse: Gatehouse<Member, z.output<typeof teamDataSchema>, z.input<typeof teamDataSchema>>;
  accounts: ReturnType<typeof teamAccounts>;
  clock: ManualClock;
  events: SessionEvent[];
  close(): Promise<void>;
}

/** The team's Koa app on port 0: its accounts, its router under /api/trpc, a host route reading typed session data. */
export async function startTeamServer(options: Partial<GatehouseOptions<Member>> = {}): Promise<TeamServer> {
  const accounts = teamAccounts();
  const clock = new ManualClock();
  const events: SessionEvent[] = [];
  const gatehouse = await createGatehouse(team, {
    keys: [TEST_KEY],
    cookie: { secure: false },
    accounts,
    clock,
    logger: createLogger('silent'),
    onSessionEvent: (event) => void events.push(event),
    ...options,
  });
  const app = new Koa();
  app.silent = true;
  app.use(gatehouse.session());
  app.use(gatehouse.trpc({ router: teamRouter, prefix: '/api/trpc' }));
  app.use((ctx) => {
    if (ctx.path !== '/theme') return;
    // A host route sees the same typed session data.
    const current = gatehouse.sessionOf(ctx).current;
    ctx.body = { theme: current?.data.theme ?? null, email: current?.user.email ?? null };
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    gatehouse,
    accounts,
    clock,
    events,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await gatehouse.close();
    },
  };
}
