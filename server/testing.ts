import { randomBytes } from 'node:crypto';
import type { AnyRouter } from '@trpc/server';
import { pino } from 'pino';
import type { User } from '../shared/user.js';
import { type AccountsAdapter, userSourceOf } from './accounts/accountsAdapter.js';
import type { PasswordHasher } from './accounts/passwordHasher.js';
import { type Clock, systemClock } from './clock.js';
import { type GatehouseDefinition, internalsOf, type NoContext, type NoSessionData } from './definition.js';
import { type GatehouseOptions, resolveOptions } from './options.js';
import { DirectSession } from './session/directSession.js';
import { SessionCodec } from './session/sessionCodec.js';
import { SessionCore, type UserSource } from './session/sessionCore.js';
import type { SessionHandle } from './session/sessionHandle.js';
import { createServices } from './services.js';
import type { KeyValueStore } from './store/keyValueStore.js';
import { openStore } from './store/openStore.js';
import type { GatehouseContext, Services } from './trpc/context.js';
import { defaultGatehouse } from './trpc/init.js';

type DefinitionOf<TUser extends { id: string }, TData extends object, TExtra extends object, TDataInput> = GatehouseDefinition<TUser, TData, TExtra, TDataInput, never>;

/**
 * What `createTestCaller` takes. The user, data, context and accounts are
 * typed by the definition (`gatehouse`), never inferred from themselves
 * (`NoInfer`): an inline `user: { …, role: 'member' }` is checked against
 * your user schema, and a wrong field is an error on that field.
 */
export type TestCallerOptions<
  TRouter extends AnyRouter,
  TUser extends { id: string } = User,
  TData extends object = NoSessionData,
  TExtra extends object = NoContext,
  TDataInput = TData,
> = {
  /** Your router. */
  router: TRouter;
  /** Your definition (`initGatehouse`); default: the built-in user, no data, no context. */
  gatehouse?: GatehouseDefinition<TUser, TData, TExtra, TDataInput, unknown>;
  /** Sign the caller in as this user — validated by your user schema, exactly as `session.start()` does in production. Omit for anonymous. */
  user?: NoInfer<TUser>;
  /** The session's data at start (validated; your schema's defaults apply). */
  data?: NoInfer<TDataInput>;
  /**
   * Your accounts adapter, for the built-in procedures (default: the built-in directory, for the built-in user).
   * Given, a rotation reads the user from it as in production (a user it does not know is signed out); without
   * it, a rotation keeps the user the session has.
   */
  accounts?: AccountsAdapter<NoInfer<TUser>>;
  clock?: Clock;
  /** Defaults to a fresh `memory://` store. */
  store?: KeyValueStore;
  hasher?: PasswordHasher;
  /** Options as `createGatehouse` takes them (timeouts, fresh-login window, session cap, throttle); keys are generated. */
  options?: Omit<GatehouseOptions<NoInfer<TUser>>, 'keys' | 'store' | 'accounts' | 'clock' | 'hasher' | 'logger'>;
} & (NoContext extends TExtra ? { context?: NoInfer<TExtra> } : { /** Your own context fields (your context factory needs a Koa context; tests give the fields). */ context: NoInfer<TExtra> });

export interface TestCaller<TRouter extends AnyRouter, TUser extends { id: string }, TData extends object, TExtra extends object, TDataInput> {
  caller: ReturnType<TRouter['createCaller']>;
  ctx: GatehouseContext<TUser, TData, TExtra, TDataInput>;
  /** The session behind the caller (start, update, end it between calls). */
  session: SessionHandle<TUser, TData, TDataInput>;
  services: Services<TUser>;
  close(): Promise<void>;
}

/**
 * Calls procedures directly (no HTTP) as a given user or anonymously: for
 * unit-testing procedure logic, your own protected procedures included.
 * Sessions go through the same validation and store code as production:
 * a user or data your schemas refuse is refused here too.
 *
 * @example
 * const { caller, close } = await createTestCaller({ gatehouse: gh, router: appRouter, user: { id: 'u1', email: 'a@example.com', role: 'staff' } });
 * expect(await caller.orders.list()).toEqual([]);
 * await close();
 */
export async function createTestCaller<
  TRouter extends AnyRouter,
  TUser extends { id: string } = User,
  TData extends object = NoSessionData,
  TExtra extends object = NoContext,
  TDataInput = TData,
>(options: TestCallerOptions<TRouter, TUser, TData, TExtra, TDataInput>): Promise<TestCaller<TRouter, TUser, TData, TExtra, TDataInput>> {
  const definition = (options.gatehouse ?? defaultGatehouse) as unknown as DefinitionOf<TUser, TData, TExtra, TDataInput>;
  const internals = internalsOf(definition);
  // The same validated defaults as createGatehouse (timeouts, session cap, throttle limits, fresh-login window).
  const resolved = resolveOptions<TUser>({ ...options.options, keys: [randomBytes(32).toString('base64url')] });
  const clock = options.clock ?? systemClock;
  const store = options.store ?? (await openStore({ url: 'memory://', timeoutMs: resolved.storeTimeoutMs }));
  const codec = new SessionCodec(internals.userSchema, internals.dataSchema, internals.migrate);
  const services = await createServices<TUser>(resolved, store, clock, codec, () => undefined, options.accounts, options.hasher);
  const userSource = options.accounts ? (userSourceOf(options.accounts) as UserSource) : undefined;
  const direct = new DirectSession(new SessionCore(services.sessions, clock, userSource));
  if (options.user) await direct.start(options.user, options.data);
  const handle = direct.handle as unknown as SessionHandle<TUser, TData, TDataInput>;
  const ctx = {
    ...(options.context ?? {}),
    session: handle,
    get user() {
      return handle.current?.user ?? null;
    },
    clock,
    requestId: 'test-request',
    clientAddress: '127.0.0.1',
    log: pino({ level: 'silent' }),
    services,
  } as unknown as GatehouseContext<TUser, TData, TExtra, TDataInput>;
  const caller = definition.createCallerFactory(options.router)(ctx as never) as ReturnType<TRouter['createCaller']>;
  const session = direct as unknown as SessionHandle<TUser, TData, TDataInput>;
  return { caller: asRequests(caller, (call) => direct.asRequest(call)), ctx, session, services, close: () => store.close() };
}

/**
 * `caller`, with each procedure call run as one request: the session read
 * again first (its timeouts on the caller's clock), the idle extension
 * after — as the session middleware does around a request.
 */
function asRequests<T extends object>(caller: T, run: <R>(call: () => Promise<R>) => Promise<R>): T {
  const at = (path: readonly PropertyKey[]): unknown =>
    new Proxy(() => undefined, {
      // tRPC forbids a procedure named `then`: so a caller is never mistaken for a promise.
      get: (_target, property) => (property === 'then' ? undefined : at([...path, property])),
      apply: (_target, _this, args: unknown[]) =>
        run(() => {
          let target: unknown = caller;
          for (const property of path) target = (target as Record<PropertyKey, unknown>)[property];
          return (target as (...a: unknown[]) => Promise<unknown>)(...args);
        }),
    });
  return at([]) as T;
}
