import type { TRPCBuiltRouter, TRPCMutationProcedure, TRPCQueryProcedure } from '@trpc/server';
import type Koa from 'koa';
import { z } from 'zod';
import { type ChangePasswordInput, credentialsSchema, passwordSchema } from '../shared/credentials.js';
import type { EndedSessions, LogoutResult, ReauthenticateInput, SessionView } from '../shared/session.js';
import { type User, userSchema } from '../shared/user.js';
import { adminRoutes } from './routers/adminRouter.js';
import { authRoutes } from './routers/authRouter.js';
import type { RouteBuilders, RouteSchemas } from './routers/routeBuilders.js';
import { sessionsRoutes } from './routers/sessionsRouter.js';
import type { MigrateSessionData } from './session/sessionCodec.js';
import { createBuilders } from './trpc/builders.js';
import type { GatehouseContext, RESERVED_CONTEXT_KEYS } from './trpc/context.js';
import type { GatehouseErrorShape } from './trpc/errorFormatter.js';

/** No session data: the default. */
export type NoSessionData = Record<never, never>;
/** No context fields of the team's own: the default. */
export type NoContext = Record<never, never>;

declare const builtInUser: unique symbol;
/**
 * The user schema `initGatehouse` infers when it is given none: the
 * built-in one, marked (at the type level only) so that the definition
 * knows it may be served by the built-in accounts directory. Passing
 * Gatehouse's schema yourself is your own user, as at run time.
 */
type BuiltInUserSchema = typeof userSchema & { readonly [builtInUser]: true };
/** Whether a definition's user is the built-in one (no `user` given to `initGatehouse`). */
type IsBuiltInUser<TUserSchema> = TUserSchema extends { readonly [builtInUser]: true } ? true : false;

type ReservedKey = (typeof RESERVED_CONTEXT_KEYS)[number];
/**
 * A team's own context may not take the names of Gatehouse's fields. Each
 * is typed as the fix, so the compiler's error names the field and says
 * why: `Type 'string' is not assignable to type '"ctx.session is reserved
 * for Gatehouse's own field: rename yours"'`.
 */
type ReservedFields = { readonly [K in ReservedKey]?: `ctx.${K} is reserved for Gatehouse's own field: rename yours` };
interface OwnContext extends ReservedFields {
  /** Not a promise: an async factory's result is awaited (and without this, a promise passed for the fields, unchecked). */
  readonly then?: never;
}

/** What `initGatehouse` takes: the shape of your users, your session data and your own context. */
export interface GatehouseDefinitionOptions<
  TUserSchema extends z.ZodType<{ id: string }>,
  TDataSchema extends z.ZodType<object>,
  TExtra extends object,
  TCredentialsSchema extends z.ZodType<{ username: string; password: string }>,
> {
  /**
   * Your user, as a session holds it and `ctx.user` gives it (a zod
   * schema; its output needs a string `id`). Default: Gatehouse's built-in
   * `{ id, username, role: 'user' | 'admin' }`. With your own, give
   * `createGatehouse` an `accounts` adapter over your user table.
   */
  user?: TUserSchema;
  /**
   * Your session data (a zod schema of an object), typed as
   * `ctx.session.current.data`. Login and registration start from its
   * defaults (nothing carries over); rotation keeps it. Default: none.
   */
  sessionData?: TDataSchema;
  /**
   * A record whose data no longer matches `sessionData` (a deploy changed
   * the schema): return the data to keep (it is validated again and
   * written back), or `undefined` to end that session. Without it, such a
   * session ends (the user signs in again).
   */
  migrateSessionData?: MigrateSessionData;
  /** Your own context fields, next to Gatehouse's (a database handle, the tenant…), from the Koa context. */
  context?: (koa: Koa.Context) => TExtra | Promise<TExtra>;
  /** Who may call `adminProcedure` (default: `user.role === 'admin'`). */
  isAdmin?: (user: z.output<TUserSchema>) => boolean;
  /**
   * The input of `auth.register` and `auth.login`: `{ username, password }`.
   * Default: with the built-in user, Gatehouse's username rules (3–32 of
   * `[a-z0-9_.-]`, lower-cased); with your own user, any 1–254 characters,
   * trimmed (your adapter decides). Passwords: 8–128 characters. Give your
   * login's own rules here (`z.email()`, say), so a login your adapter
   * could not make a user of is a 400 before anything runs.
   */
  credentials?: TCredentialsSchema;
}

/** What the definition keeps for `createGatehouse` and the testing helper. */
export interface DefinitionInternals<TBuiltInUser extends boolean = boolean> {
  readonly userSchema: z.ZodType<{ id: string }>;
  readonly dataSchema: z.ZodType<object>;
  readonly migrate: MigrateSessionData | undefined;
  readonly context: ((koa: Koa.Context) => object | Promise<object>) | undefined;
  /** The built-in user (no `user` given): the built-in accounts directory may serve it; any other needs `accounts`. */
  readonly builtInUser: TBuiltInUser;
}

export const DEFINITION = Symbol.for('koa-gatehouse.definition');

/** The root types of every Gatehouse router (what `initTRPC.create` gives it), Gatehouse's error shape among them. */
export type GatehouseRoot<TCtx> = { ctx: TCtx; meta: object; errorShape: GatehouseErrorShape; transformer: false };
type Mutation<TInput, TOutput> = TRPCMutationProcedure<{ input: TInput; output: TOutput; meta: object }>;
type Query<TInput, TOutput> = TRPCQueryProcedure<{ input: TInput; output: TOutput; meta: object }>;

/** An administrator's action on an account, as `admin.*` answers it. */
export interface AccountActionView<TUser> {
  user: TUser;
  disabled: boolean;
  endedSessions: number;
}

/** The built-in routes, typed with your user and credentials. Nest them in your router: `router({ ...gh.routes, … })`. */
export type BuiltInRoutes<TCtx, TUser, TCredentialsIn> = {
  auth: TRPCBuiltRouter<
    GatehouseRoot<TCtx>,
    {
      register: Mutation<TCredentialsIn & { staySignedIn?: boolean }, { user: TUser; token?: string }>;
      login: Mutation<TCredentialsIn & { staySignedIn?: boolean }, { user: TUser; token?: string }>;
      me: Query<void, { user: TUser; session: SessionView } | null>;
      logout: Mutation<void, LogoutResult>;
      reauthenticate: Mutation<ReauthenticateInput, { authenticatedAt: string; token?: string }>;
      changePassword: Mutation<ChangePasswordInput, EndedSessions>;
    }
  >;
  sessions: TRPCBuiltRouter<
    GatehouseRoot<TCtx>,
    {
      list: Query<void, SessionView[]>;
      revoke: Mutation<{ id: string }, EndedSessions>;
      revokeOthers: Mutation<void, EndedSessions>;
    }
  >;
  admin: TRPCBuiltRouter<
    GatehouseRoot<TCtx>,
    {
      revokeUserSessions: Mutation<{ username: string }, EndedSessions>;
      setRole: Mutation<{ username: string; role: string }, AccountActionView<TUser>>;
      disableUser: Mutation<{ username: string }, AccountActionView<TUser>>;
      enableUser: Mutation<{ username: string }, AccountActionView<TUser>>;
      deleteUser: Mutation<{ username: string }, AccountActionView<TUser>>;
    }
  >;
};

/**
 * Your sessions' types and Gatehouse's tRPC procedure builders on them:
 * what `initGatehouse` returns. Build every procedure with these (one
 * `initTRPC` for the whole router), and hand the definition to
 * `createGatehouse`.
 */
export type GatehouseDefinition<
  TUser extends { id: string } = User,
  TData extends object = NoSessionData,
  TExtra extends object = NoContext,
  TDataInput = TData,
  TCredentialsIn = { username: string; password: string },
  TBuiltInUser extends boolean = boolean,
> = ReturnType<typeof createBuilders<GatehouseContext<TUser, TData, TExtra, TDataInput>>> & {
  /** Gatehouse's own procedures (`auth`, `sessions`, `admin`), typed with your user. */
  readonly routes: BuiltInRoutes<GatehouseContext<TUser, TData, TExtra, TDataInput>, TUser, TCredentialsIn>;
  readonly [DEFINITION]: DefinitionInternals<TBuiltInUser>;
};

/** The context type of a definition's procedures. */
export type ContextOf<TDefinition> = TDefinition extends GatehouseDefinition<infer U, infer D, infer E, infer I, never> ? GatehouseContext<U, D, E, I> : never;

const defaultIsAdmin = (user: unknown) => (user as { role?: unknown }).role === 'admin';

/** Logins of a team's own user table: any name up to 254 characters (an email fits); Gatehouse's password length rule. */
const openCredentialsSchema = z.object({
  username: z.string({ error: 'username must be a string' }).trim().min(1, { error: 'username is required' }).max(254, { error: 'username must be at most 254 characters' }),
  password: passwordSchema,
});

/**
 * Defines what your sessions hold — your user, your session data, your
 * own context — and gives you Gatehouse's tRPC procedure builders typed
 * with them. No secrets, no I/O: import it anywhere (tests included).
 *
 * @example
 * export const gh = initGatehouse({
 *   user: z.object({ id: z.string(), email: z.email(), role: z.enum(['member', 'staff', 'admin']) }),
 *   sessionData: z.object({ tenantId: z.string().nullable().default(null), theme: z.enum(['light', 'dark']).default('light') }),
 *   context: (koa) => ({ db: dbFor(koa) }),
 * });
 * export const appRouter = gh.router({ ...gh.routes, orders: gh.protectedProcedure.query(({ ctx }) => ctx.db.ordersOf(ctx.user.id)) });
 */
export function initGatehouse<
  TUserSchema extends z.ZodType<{ id: string }> = BuiltInUserSchema,
  TDataSchema extends z.ZodType<object> = z.ZodObject<NoSessionData>,
  TExtra extends object & OwnContext = NoContext,
  TCredentialsSchema extends z.ZodType<{ username: string; password: string }> = typeof credentialsSchema,
>(
  options: GatehouseDefinitionOptions<TUserSchema, TDataSchema, TExtra, TCredentialsSchema> = {},
): GatehouseDefinition<z.output<TUserSchema>, z.output<TDataSchema>, TExtra, z.input<TDataSchema>, z.input<TCredentialsSchema>, IsBuiltInUser<TUserSchema>> {
  const builtInUser = options.user === undefined;
  const user = options.user ?? userSchema;
  const credentials = options.credentials ?? (builtInUser ? credentialsSchema : openCredentialsSchema);
  const isAdmin = (options.isAdmin ?? defaultIsAdmin) as (user: unknown) => boolean;
  const builders = createBuilders(isAdmin) as unknown as RouteBuilders;
  const schemas: RouteSchemas = { user: user as RouteSchemas['user'], credentials: credentials as RouteSchemas['credentials'] };
  const routes = {
    auth: authRoutes(builders, schemas),
    sessions: sessionsRoutes(builders),
    admin: adminRoutes(builders, schemas),
  };
  const internals: DefinitionInternals = {
    userSchema: user,
    dataSchema: options.sessionData ?? z.object({}),
    migrate: options.migrateSessionData,
    context: options.context,
    builtInUser,
  };
  return Object.assign(builders, { routes, [DEFINITION]: internals }) as never;
}

/** Whether `value` is what `initGatehouse` returned. */
export function isGatehouseDefinition(value: unknown): value is GatehouseDefinition<{ id: string }, object, object, unknown, unknown> {
  return typeof value === 'object' && value !== null && DEFINITION in value;
}

/** The internals of a definition (for `createGatehouse` and the testing helper). */
export function internalsOf(definition: { readonly [DEFINITION]: DefinitionInternals }): DefinitionInternals {
  return definition[DEFINITION];
}
